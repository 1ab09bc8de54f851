-- One row per customer: exact duplicates and older versions of a row removed (the latest
-- updated_at wins), emails trimmed and lower-cased, countries normalized, dates parsed from
-- mixed formats, and soft deletes flagged (rows are kept: facts may still point at them).
with source as (

    select * from {{ source('shop', 'customers') }}

),

parsed as (

    select
        customer_id,
        nullif(lower(trim(email)), '') as email,
        nullif(trim(full_name), '') as full_name,
        case
            when upper(trim(country)) in ('US', 'USA', 'UNITED STATES') then 'US'
            else nullif(upper(trim(country)), '')
        end as country_code,
        {{ parse_date('signup_date') }} as signup_date,
        {{ parse_timestamp('updated_at') }} as updated_at,
        {{ parse_timestamp('deleted_at') }} as deleted_at
    from source

),

ranked as (

    select
        parsed.*,
        row_number() over (partition by customer_id order by updated_at desc) as row_num
    from parsed

)

select
    customer_id,
    email,
    full_name,
    country_code,
    signup_date,
    deleted_at is not null as is_deleted,
    deleted_at,
    updated_at
from ranked
where row_num = 1
