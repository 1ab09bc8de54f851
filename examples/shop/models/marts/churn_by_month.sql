-- Churn per month. Subscription churn: of the subscriptions active last month, the share
-- canceled this month. Customer (logo) churn: of the customers with an active subscription
-- last month, the share with none this month. Revenue churn: churned MRR over last month's MRR.
-- "At start" is last month's row of int_subscription_activity (none for the spine's first month).
with activity as (

    select * from {{ ref('int_subscription_activity') }}

)

select
    m.month_start,
    coalesce(prev.active_subscriptions, 0) as subscriptions_at_start,
    m.churned_subscriptions,
    case when prev.active_subscriptions > 0
        then cast(round(cast(m.churned_subscriptions as decimal(12, 4)) / prev.active_subscriptions, 4) as decimal(6, 4))
    end as subscription_churn_rate,
    coalesce(prev.active_customers, 0) as customers_at_start,
    case when prev.month_start is not null then m.churned_customers else 0 end as churned_customers,
    case when prev.active_customers > 0
        then cast(round(cast(m.churned_customers as decimal(12, 4)) / prev.active_customers, 4) as decimal(6, 4))
    end as customer_churn_rate,
    coalesce(prev.mrr, 0) as mrr_at_start,
    m.churned_mrr,
    case when prev.mrr > 0
        then cast(round(m.churned_mrr / prev.mrr, 4) as decimal(6, 4))
    end as revenue_churn_rate
from activity as m
left join activity as prev on prev.month_start = cast(m.month_start - interval '1 month' as date)
order by m.month_start
