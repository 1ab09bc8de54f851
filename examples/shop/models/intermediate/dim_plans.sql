-- The plan dimension, with each price also expressed per month (annual plans / 12), which is
-- what MRR adds up.
select
    plan_id,
    plan_code,
    plan_name,
    billing_period,
    case billing_period when 'annual' then 12 else 1 end as billing_months,
    price,
    {{ monthly_price('price', 'billing_period') }} as monthly_price,
    currency
from {{ ref('stg_plans') }}
