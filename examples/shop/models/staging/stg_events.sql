-- One row per product event, with the fields analyses need pulled out of the nested JSON
-- payload. `->` (a JSON value) and `->>` (text) work on DuckDB's JSON and PostgreSQL's JSONB
-- alike. Malformed events never reach bronze: the loader keeps them as dead letters.
with source as (

    select * from {{ source('shop', 'events') }}

)

select
    event_id,
    customer_id,
    anonymous_id,
    lower(trim(type)) as event_type,
    {{ parse_timestamp('"at"') }} as occurred_at,
    properties ->> 'session_id' as session_id,
    cast(properties ->> 'plan_id' as integer) as plan_id,
    cast(properties ->> 'subscription_id' as bigint) as subscription_id,
    properties ->> 'feature' as feature,
    properties ->> 'path' as page_path,
    cast(properties ->> 'duration_ms' as bigint) as duration_ms,
    properties -> 'device' ->> 'os' as device_os,
    properties -> 'device' ->> 'app_version' as app_version
from source
