-- One row per payment: exact duplicates (a retried export) removed, and when a payment was
-- exported as 'succeeded' and again later as 'refunded', the latest updated_at wins. Amounts
-- are parsed from text ('12.50', '$12.50', '12,50'), statuses and currencies normalized.
with source as (

    select * from {{ source('shop', 'payments') }}

),

parsed as (

    select
        payment_id,
        subscription_id,
        bank_id,
        {{ parse_amount('amount') }} as amount,
        upper(trim(currency)) as currency,
        case
            when lower(trim(status)) in ('succeeded', 'success', 'paid') then 'succeeded'
            when lower(trim(status)) in ('failed', 'declined') then 'failed'
            when lower(trim(status)) in ('refunded', 'refund') then 'refunded'
            else lower(trim(status))
        end as status,
        {{ parse_timestamp('paid_at') }} as paid_at,
        {{ parse_timestamp('updated_at') }} as updated_at
    from source

),

ranked as (

    select
        parsed.*,
        row_number() over (partition by payment_id order by updated_at desc) as row_num
    from parsed

)

select payment_id, subscription_id, bank_id, amount, currency, status, paid_at, updated_at
from ranked
where row_num = 1
