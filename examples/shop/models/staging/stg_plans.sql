-- One row per plan: the latest version wins (an early row had a typo'd price), prices are
-- parsed from text ('$29.00', '99,00') and billing periods normalized to monthly / annual.
with source as (

    select * from {{ source('shop', 'plans') }}

),

parsed as (

    select
        plan_id,
        lower(trim(plan_code)) as plan_code,
        trim(plan_name) as plan_name,
        case
            when lower(trim(billing_period)) in ('monthly', 'month') then 'monthly'
            when lower(trim(billing_period)) in ('annual', 'annually', 'yearly', 'year') then 'annual'
        end as billing_period,
        {{ parse_amount('price') }} as price,
        upper(trim(currency)) as currency,
        {{ parse_timestamp('updated_at') }} as updated_at
    from source

),

ranked as (

    select
        parsed.*,
        row_number() over (partition by plan_id order by updated_at desc) as row_num
    from parsed

)

select plan_id, plan_code, plan_name, billing_period, price, currency, updated_at
from ranked
where row_num = 1
