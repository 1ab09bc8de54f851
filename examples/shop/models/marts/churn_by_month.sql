-- Churn per month. Subscription churn: of the subscriptions active last month, the share
-- canceled this month. Customer (logo) churn: of the customers with an active subscription
-- last month, the share with none this month. Revenue churn: churned MRR over last month's MRR.
with months as (

    select date_day as month_start
    from {{ ref('dim_date') }}
    where is_month_start

),

sub_months as (

    select * from {{ ref('int_subscription_months') }}

),

subscriptions_at_start as (

    select m.month_start, count(*) as subscriptions_at_start, sum(s.mrr) as mrr_at_start
    from months as m
    inner join sub_months as s on s.month_start = cast(m.month_start - interval '1 month' as date)
    group by m.month_start

),

churned_subscriptions as (

    select cancel_month as month_start, count(*) as churned_subscriptions, sum(mrr) as churned_mrr
    from {{ ref('fct_subscriptions') }}
    where cancel_month > start_month
    group by cancel_month

),

customer_months as (

    select distinct customer_id, month_start from sub_months

),

customers_at_start as (

    select
        m.month_start,
        count(*) as customers_at_start,
        sum(case when cur.customer_id is null then 1 else 0 end) as churned_customers
    from months as m
    inner join customer_months as prev
        on prev.month_start = cast(m.month_start - interval '1 month' as date)
    left join customer_months as cur
        on cur.customer_id = prev.customer_id and cur.month_start = m.month_start
    group by m.month_start

)

select
    m.month_start,
    coalesce(s.subscriptions_at_start, 0) as subscriptions_at_start,
    coalesce(c.churned_subscriptions, 0) as churned_subscriptions,
    case when s.subscriptions_at_start > 0
        then cast(round(cast(coalesce(c.churned_subscriptions, 0) as decimal(12, 4)) / s.subscriptions_at_start, 4) as decimal(6, 4))
    end as subscription_churn_rate,
    coalesce(cu.customers_at_start, 0) as customers_at_start,
    coalesce(cu.churned_customers, 0) as churned_customers,
    case when cu.customers_at_start > 0
        then cast(round(cast(cu.churned_customers as decimal(12, 4)) / cu.customers_at_start, 4) as decimal(6, 4))
    end as customer_churn_rate,
    coalesce(s.mrr_at_start, 0) as mrr_at_start,
    coalesce(c.churned_mrr, 0) as churned_mrr,
    case when s.mrr_at_start > 0
        then cast(round(coalesce(c.churned_mrr, 0) / s.mrr_at_start, 4) as decimal(6, 4))
    end as revenue_churn_rate
from months as m
left join subscriptions_at_start as s on s.month_start = m.month_start
left join churned_subscriptions as c on c.month_start = m.month_start
left join customers_at_start as cu on cu.month_start = m.month_start
order by m.month_start
