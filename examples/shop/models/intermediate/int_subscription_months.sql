{{ config(materialized='ephemeral') }}
-- One row per subscription per month it counts towards MRR: from the month it started up to,
-- but not including, the month it was canceled. Ephemeral: inlined as a CTE into the marts
-- that use it, never built on its own.
with months as (

    select date_day as month_start
    from {{ ref('dim_date') }}
    where is_month_start

)

select
    s.subscription_id,
    s.customer_id,
    s.plan_id,
    m.month_start,
    s.mrr,
    m.month_start = s.start_month as is_first_month
from {{ ref('fct_subscriptions') }} as s
inner join months as m
    on m.month_start >= s.start_month
    and (s.cancel_month is null or m.month_start < s.cancel_month)
