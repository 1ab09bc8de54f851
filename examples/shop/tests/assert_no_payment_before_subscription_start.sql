-- A payment dated before its subscription started means a bad date parse or a bad join.
select
    f.payment_id,
    f.subscription_id,
    f.paid_date,
    s.start_date
from {{ ref('fct_payments') }} as f
inner join {{ ref('fct_subscriptions') }} as s on s.subscription_id = f.subscription_id
where f.paid_date < s.start_date
