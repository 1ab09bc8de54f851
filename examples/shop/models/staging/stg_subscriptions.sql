-- One row per subscription: the export holds both the 'active' row and the later 'canceled'
-- row of a subscription (the latest updated_at wins), statuses in mixed spellings, dates in
-- mixed formats and an is_deleted flag written true/1/yes/false/0/no or left empty.
with source as (

    select * from {{ source('shop', 'subscriptions') }}

),

parsed as (

    select
        subscription_id,
        customer_id,
        plan_id,
        case
            when lower(trim(status)) in ('canceled', 'cancelled') then 'canceled'
            else lower(trim(status))
        end as status,
        {{ parse_date('started_at') }} as start_date,
        {{ parse_date('canceled_at') }} as cancel_date,
        coalesce({{ parse_bool('is_deleted') }}, false) as is_deleted,
        {{ parse_timestamp('updated_at') }} as updated_at
    from source

),

ranked as (

    select
        parsed.*,
        row_number() over (partition by subscription_id order by updated_at desc) as row_num
    from parsed

)

select subscription_id, customer_id, plan_id, status, start_date, cancel_date, is_deleted, updated_at
from ranked
where row_num = 1
