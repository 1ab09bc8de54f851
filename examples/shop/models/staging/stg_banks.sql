-- One row per bank id. The export spells one bank several ways ('JPMorgan Chase Bank, N.A.',
-- '  chase '), so each row also gets the bank's canonical name.
with source as (

    -- The same bank row can be exported twice: keep one.
    select distinct bank_id, bank_name, country_code
    from {{ source('shop', 'banks') }}

)

select
    bank_id,
    trim(bank_name) as bank_name_raw,
    case
        when lower(bank_name) like '%chase%' then 'JPMorgan Chase'
        when lower(bank_name) like '%bank of america%' then 'Bank of America'
        when lower(bank_name) like '%wells fargo%' then 'Wells Fargo'
        when lower(bank_name) like '%barclays%' then 'Barclays'
        when lower(bank_name) like '%hsbc%' then 'HSBC'
        when lower(bank_name) like '%deutsche bank%' then 'Deutsche Bank'
        when lower(bank_name) like '%bnp%' then 'BNP Paribas'
        else trim(bank_name)
    end as bank_name,
    nullif(upper(trim(country_code)), '') as country_code
from source
