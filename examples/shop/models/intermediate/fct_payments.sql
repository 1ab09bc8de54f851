{{ config(materialized='incremental', unique_key='payment_id', incremental_strategy='merge') }}
-- One row per payment, with its gross, refunded and net amounts. Incremental: after the first
-- build only payments changed since the newest updated_at already loaded are processed, and
-- merged on payment_id, so a payment that turned 'refunded' replaces its 'succeeded' row.
with payments as (

    select * from {{ ref('stg_payments') }}
    {% if is_incremental() %}
    where updated_at > (select coalesce(max(updated_at), cast('1900-01-01' as timestamp)) from {{ this }})
    {% endif %}

),

subscriptions as (

    select subscription_id, customer_id, plan_id from {{ ref('fct_subscriptions') }}

),

banks as (

    select bank_id, bank_name from {{ ref('stg_banks') }}

)

select
    p.payment_id,
    p.subscription_id,
    coalesce(s.customer_id, -1) as customer_id,
    s.plan_id,
    p.bank_id,
    coalesce(b.bank_name, 'Unknown') as bank_name,
    p.status,
    p.currency,
    p.amount,
    case when p.status in ('succeeded', 'refunded') then p.amount else 0 end as gross_amount,
    case when p.status = 'refunded' then p.amount else 0 end as refund_amount,
    case when p.status = 'failed' then coalesce(p.amount, 0) else 0 end as failed_amount,
    case when p.status = 'succeeded' then p.amount else 0 end as net_amount,
    p.paid_at,
    cast(p.paid_at as date) as paid_date,
    p.updated_at
from payments as p
left join subscriptions as s on s.subscription_id = p.subscription_id
left join banks as b on b.bank_id = p.bank_id
