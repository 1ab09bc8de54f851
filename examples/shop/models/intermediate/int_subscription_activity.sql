{{ config(materialized='ephemeral') }}
-- Subscription activity per month of the date spine: what is active (subscriptions, customers,
-- MRR), what started, what was canceled and which customers were lost. Ephemeral: inlined as a
-- CTE into mrr_by_month and churn_by_month, never built on its own.
--
-- Built from per-month totals, not from one row per subscription per month: what is active in a
-- month is everything that started in or before it minus everything that stopped in or before
-- it, so only per-month totals (a few dozen rows) meet the month spine in the range join.
-- Expanding every subscription over the months (as an earlier version of this project did) made
-- 1.3M rows at scale 250, which PostgreSQL then materialized, deduplicated and sorted (2.4-5.6x
-- DuckDB; a larger work_mem did not help).
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

churned as (

    -- Canceled in a later month than they started: they counted last month, not this one.
    select cancel_month as month_start, count(*) as churned_subscriptions, sum(mrr) as churned_mrr
    from subscriptions
    where cancel_month is not null
    group by cancel_month

),

customer_spans as (

    -- A customer counts in every month one of their subscriptions does: merged, their
    -- subscriptions make stretches of consecutive months ("gaps and islands"). Taken in order of
    -- start, each subscription knows the latest end so far (ended_through) and when the next one
    -- starts: a next start after ended_through is a gap, which closes one stretch at
    -- ended_through and opens another at next_start. A subscription still running ends in
    -- 9999-12, after every month of the spine.
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

    -- What each month adds to (and removes from) the running totals.
    select month_start, new_subscriptions as subscriptions, new_mrr as mrr, cast(0 as bigint) as customers
    from started
    union all
    select month_start, -churned_subscriptions, -churned_mrr, cast(0 as bigint)
    from churned
    union all
    select month_start, cast(0 as bigint), cast(0 as decimal(12, 2)), customers
    from customers_gained
    union all
    select month_start, cast(0 as bigint), cast(0 as decimal(12, 2)), -customers
    from customers_lost

),

active as (

    -- Running totals: every change in or before the month (before the spine's first month too).
    select
        m.month_start,
        cast(coalesce(sum(c.subscriptions), 0) as bigint) as active_subscriptions,
        cast(coalesce(sum(c.customers), 0) as bigint) as active_customers,
        coalesce(sum(c.mrr), 0) as mrr
    from months as m
    left join changes as c on c.month_start <= m.month_start
    group by m.month_start

)

select
    a.month_start,
    a.active_subscriptions,
    a.active_customers,
    a.mrr,
    coalesce(s.new_subscriptions, 0) as new_subscriptions,
    coalesce(s.new_mrr, 0) as new_mrr,
    coalesce(c.churned_subscriptions, 0) as churned_subscriptions,
    coalesce(c.churned_mrr, 0) as churned_mrr,
    coalesce(l.customers, 0) as churned_customers
from active as a
left join started as s on s.month_start = a.month_start
left join churned as c on c.month_start = a.month_start
left join customers_lost as l on l.month_start = a.month_start
