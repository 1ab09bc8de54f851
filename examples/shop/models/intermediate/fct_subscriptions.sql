-- One row per real subscription (soft-deleted ones, entered in error, are left out), keyed to
-- the customer and plan dimensions. A customer missing from the export maps to -1 (unknown).
with subscriptions as (

    select * from {{ ref('stg_subscriptions') }}
    where not is_deleted

),

customers as (

    select customer_id from {{ ref('dim_customers') }}

),

plans as (

    select plan_id, monthly_price from {{ ref('dim_plans') }}

)

select
    s.subscription_id,
    coalesce(c.customer_id, -1) as customer_id,
    s.customer_id as source_customer_id,
    s.plan_id,
    s.status,
    s.start_date,
    s.cancel_date,
    cast(date_trunc('month', s.start_date) as date) as start_month,
    cast(date_trunc('month', s.cancel_date) as date) as cancel_month,
    s.cancel_date is null as is_current,
    p.monthly_price as mrr,
    s.updated_at
from subscriptions as s
left join customers as c on c.customer_id = s.customer_id
left join plans as p on p.plan_id = s.plan_id
