{{ config(unique_key='subscription_id', strategy='timestamp', updated_at='updated_at', invalidate_hard_deletes=true) }}
-- SCD type 2 history of subscriptions: each build closes the current version of a
-- subscription whose updated_at moved (valid_to) and inserts the new one.
select subscription_id, customer_id, plan_id, status, start_date, cancel_date, is_deleted, updated_at
from {{ ref('stg_subscriptions') }}
