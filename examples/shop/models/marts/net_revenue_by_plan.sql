-- Revenue per plan over the whole history, net of refunds; failed payments never count as
-- revenue (their attempted amount is shown apart).
with payments as (

    select * from {{ ref('fct_payments') }}

)

select
    p.plan_id,
    p.plan_code,
    p.plan_name,
    p.billing_period,
    count(f.payment_id) as payments,
    coalesce(sum(case when f.status = 'succeeded' then 1 else 0 end), 0) as succeeded_payments,
    coalesce(sum(case when f.status = 'refunded' then 1 else 0 end), 0) as refunded_payments,
    coalesce(sum(case when f.status = 'failed' then 1 else 0 end), 0) as failed_payments,
    coalesce(sum(f.gross_amount), 0) as gross_revenue,
    coalesce(sum(f.refund_amount), 0) as refunds,
    coalesce(sum(f.net_amount), 0) as net_revenue,
    coalesce(sum(f.failed_amount), 0) as failed_amount
from {{ ref('dim_plans') }} as p
left join payments as f on f.plan_id = p.plan_id
group by p.plan_id, p.plan_code, p.plan_name, p.billing_period
order by p.plan_id
