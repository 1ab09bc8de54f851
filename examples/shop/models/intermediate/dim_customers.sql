-- The customer dimension (type 1: current attributes), plus Kimball's "unknown member"
-- (customer_id -1), which facts point at when their customer is missing from the export.
select
    customer_id,
    email,
    substring(email, position('@' in email) + 1) as email_domain,
    full_name,
    country_code,
    signup_date,
    is_deleted,
    deleted_at,
    false as is_unknown
from {{ ref('stg_customers') }}

union all

select
    -1 as customer_id,
    null as email,
    null as email_domain,
    'Unknown customer' as full_name,
    null as country_code,
    null as signup_date,
    false as is_deleted,
    null as deleted_at,
    true as is_unknown
