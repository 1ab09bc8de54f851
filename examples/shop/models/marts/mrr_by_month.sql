-- Monthly recurring revenue per month, with its bridge: this month's MRR is last month's,
-- plus new MRR (subscriptions in their first month), minus churned MRR (subscriptions
-- canceled this month, at the MRR they had last month).
with months as (

    select date_day as month_start
    from {{ ref('dim_date') }}
    where is_month_start

),

active as (

    select
        month_start,
        count(*) as active_subscriptions,
        count(distinct customer_id) as active_customers,
        sum(mrr) as mrr,
        sum(case when is_first_month then mrr else 0 end) as new_mrr,
        sum(case when is_first_month then 1 else 0 end) as new_subscriptions
    from {{ ref('int_subscription_months') }}
    group by month_start

),

churned as (

    -- Canceled in a later month than they started: they counted last month, not this one.
    select
        cancel_month as month_start,
        count(*) as churned_subscriptions,
        sum(mrr) as churned_mrr
    from {{ ref('fct_subscriptions') }}
    where cancel_month > start_month
    group by cancel_month

),

monthly as (

    select
        m.month_start,
        coalesce(a.active_subscriptions, 0) as active_subscriptions,
        coalesce(a.active_customers, 0) as active_customers,
        coalesce(a.new_subscriptions, 0) as new_subscriptions,
        coalesce(c.churned_subscriptions, 0) as churned_subscriptions,
        coalesce(a.mrr, 0) as mrr,
        coalesce(a.new_mrr, 0) as new_mrr,
        coalesce(c.churned_mrr, 0) as churned_mrr
    from months as m
    left join active as a on a.month_start = m.month_start
    left join churned as c on c.month_start = m.month_start

)

select
    month_start,
    active_subscriptions,
    active_customers,
    new_subscriptions,
    churned_subscriptions,
    coalesce(lag(mrr) over (order by month_start), 0) as previous_mrr,
    new_mrr,
    churned_mrr,
    mrr,
    case when active_customers > 0 then cast(round(mrr / active_customers, 2) as decimal(12, 2)) end as arpa
from monthly
order by month_start
