-- Churn per month. Subscription churn: of the subscriptions active last month, the share
-- canceled this month. Customer (logo) churn: of the customers with an active subscription
-- last month, the share with none this month. Revenue churn: churned MRR over last month's MRR.
--
-- Built from per-month totals, as mrr_by_month is (see there): what was active last month is a
-- running total of starts and cancellations, and a customer is lost in the month their last
-- stretch of consecutive subscribed months ends. Expanding every subscription over the months
-- (as an earlier version did) and joining the customer-months of one month to the next made
-- 1.3M and 0.9M rows at scale 250, which PostgreSQL materialized, deduplicated and sorted
-- (5.6x DuckDB; a larger work_mem did not help).
with months as (

    select date_day as month_start
    from {{ ref('dim_date') }}
    where is_month_start

),

subscriptions as (

    -- The subscriptions that count for at least one month: from start_month up to, but not
    -- including, cancel_month (one canceled in the month it started never counts).
    select customer_id, start_month, cancel_month, mrr
    from {{ ref('fct_subscriptions') }}
    where start_month is not null and (cancel_month is null or cancel_month > start_month)

),

started as (

    select start_month as month_start, count(*) as new_subscriptions, sum(mrr) as new_mrr
    from subscriptions
    group by start_month

),

churned_subscriptions as (

    select cancel_month as month_start, count(*) as churned_subscriptions, sum(mrr) as churned_mrr
    from subscriptions
    where cancel_month is not null
    group by cancel_month

),

customer_spans as (

    -- Each customer's subscriptions, merged into stretches of consecutive months ("gaps and
    -- islands"): taken in order of start, each knows the latest end so far (ended_through) and
    -- when the next one starts; a next start after ended_through closes one stretch at
    -- ended_through and opens another at next_start. Still running: ends in 9999-12.
    select
        start_month,
        row_number() over by_start as nth,
        max(end_month) over by_start as ended_through,
        lead(start_month) over by_start as next_start
    from (
        select customer_id, start_month, coalesce(cancel_month, cast('9999-12-01' as date)) as end_month
        from subscriptions
    ) as spans
    window by_start as (
        partition by customer_id order by start_month, end_month
        rows between unbounded preceding and current row
    )

),

customers_gained as (

    -- A customer's first stretch, and each one after a gap.
    select start_month as month_start, count(*) as customers
    from customer_spans
    where nth = 1
    group by start_month
    union all
    select next_start, count(*)
    from customer_spans
    where next_start > ended_through
    group by next_start

),

customers_lost as (

    -- Active last month, with no subscription this month.
    select ended_through as month_start, count(*) as customers
    from customer_spans
    where next_start is null or next_start > ended_through
    group by ended_through

),

changes as (

    select month_start, new_subscriptions as subscriptions, new_mrr as mrr, cast(0 as bigint) as customers
    from started
    union all
    select month_start, -churned_subscriptions, -churned_mrr, cast(0 as bigint)
    from churned_subscriptions
    union all
    select month_start, cast(0 as bigint), cast(0 as decimal(12, 2)), customers
    from customers_gained
    union all
    select month_start, cast(0 as bigint), cast(0 as decimal(12, 2)), -customers
    from customers_lost

),

active as (

    -- Running totals per month: every change in or before it.
    select
        m.month_start,
        cast(coalesce(sum(c.subscriptions), 0) as bigint) as subscriptions,
        cast(coalesce(sum(c.customers), 0) as bigint) as customers,
        coalesce(sum(c.mrr), 0) as mrr
    from months as m
    left join changes as c on c.month_start <= m.month_start
    group by m.month_start

),

at_start as (

    -- Last month's totals (none for the spine's first month), and the customers lost since.
    select
        m.month_start,
        prev.subscriptions as subscriptions_at_start,
        prev.mrr as mrr_at_start,
        prev.customers as customers_at_start,
        coalesce(lost.customers, 0) as churned_customers
    from months as m
    inner join active as prev on prev.month_start = cast(m.month_start - interval '1 month' as date)
    left join customers_lost as lost on lost.month_start = m.month_start

)

select
    m.month_start,
    coalesce(s.subscriptions_at_start, 0) as subscriptions_at_start,
    coalesce(c.churned_subscriptions, 0) as churned_subscriptions,
    case when s.subscriptions_at_start > 0
        then cast(round(cast(coalesce(c.churned_subscriptions, 0) as decimal(12, 4)) / s.subscriptions_at_start, 4) as decimal(6, 4))
    end as subscription_churn_rate,
    coalesce(s.customers_at_start, 0) as customers_at_start,
    coalesce(s.churned_customers, 0) as churned_customers,
    case when s.customers_at_start > 0
        then cast(round(cast(s.churned_customers as decimal(12, 4)) / s.customers_at_start, 4) as decimal(6, 4))
    end as customer_churn_rate,
    coalesce(s.mrr_at_start, 0) as mrr_at_start,
    coalesce(c.churned_mrr, 0) as churned_mrr,
    case when s.mrr_at_start > 0
        then cast(round(coalesce(c.churned_mrr, 0) / s.mrr_at_start, 4) as decimal(6, 4))
    end as revenue_churn_rate
from months as m
left join at_start as s on s.month_start = m.month_start
left join churned_subscriptions as c on c.month_start = m.month_start
order by m.month_start
