-- Monthly recurring revenue per month, with its bridge: this month's MRR is last month's,
-- plus new MRR (subscriptions in their first month), minus churned MRR (subscriptions
-- canceled this month, at the MRR they had last month). The totals come from
-- int_subscription_activity.
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
from {{ ref('int_subscription_activity') }}
order by month_start
