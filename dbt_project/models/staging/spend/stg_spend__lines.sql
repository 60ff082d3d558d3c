{{ config(materialized='table') }}

-- One row per loaded spend line, cleaned, with the verdict on repeats: a line published again in an
-- overlapping file (a month and the quarter or "revised" file holding it) is the same transaction when the
-- LA, transaction id, date and amount agree (supplier and descriptions too when a file has no transaction id);
-- its nth occurrence in one file meets the nth occurrence in another. One copy is kept: the one dated inside
-- its file's period, then from the file with the shortest period (the most specific), then by file path. The
-- others are kept here with is_repeat and the file and row that won (lineage), and left out downstream.

with

source as (

    select * from {{ source('spend', 'spend_lines') }}
    where {{ included_files_only() }}

),

renamed as (

    select
        la_gss_code,
        trim(body_name) as body_name,
        payment_date,
        {{ financial_year_label('payment_date') }} as financial_year,
        trim(transaction_id) as transaction_id,
        amount,
        {{ is_withheld_supplier('supplier_name') }} as is_supplier_withheld,
        case
            when not {{ is_withheld_supplier('supplier_name') }}
                then regexp_replace(trim(supplier_name), '\s+', ' ', 'g')
        end as supplier_name,
        supplier_name as supplier_name_published,
        case
            when not {{ is_withheld_supplier('supplier_name') }} then {{ organisation_key('supplier_name') }}
        end as supplier_key,
        trim(supplier_id) as supplier_id,
        {{ company_number('company_number') }} as company_number,
        nullif(regexp_replace(trim(charity_number), '[^0-9A-Za-z-]', '', 'g'), '') as charity_number,
        trim(service_area) as service_area,
        trim(expense_type) as expense_type,
        trim(expense_code) as expense_code,
        trim(description) as description,
        trim(classification) as classification,
        period_start,
        period_end,
        period_from,
        payment_date not between period_start and period_end as is_outside_period,
        warning_rules,
        source_file,
        file_sha256,
        source_row_number,
        load_id
    from source

),

keyed as (

    select
        *,
        md5(concat_ws(
            '|', la_gss_code, transaction_id, payment_date, amount,
            case
                when
                    transaction_id is null
                    then concat_ws('|', supplier_name_published, service_area, expense_type, description)
            end
        )) as line_key
    from renamed

),

-- Only keys seen more than once in an LA (split lines of one transaction, or repeats across files) need the
-- window functions below; every other line is its own single copy.
repeated_keys as (

    select
        la_gss_code,
        line_key
    from keyed
    group by la_gss_code, line_key
    having count(*) > 1

),

occurrences as (

    select
        keyed.*,
        row_number() over (
            partition by keyed.la_gss_code, keyed.source_file, keyed.line_key order by keyed.source_row_number
        ) as occurrence_in_file
    from keyed
    inner join repeated_keys
        on
            keyed.la_gss_code = repeated_keys.la_gss_code
            and keyed.line_key = repeated_keys.line_key

),

ranked_repeats as (

    select
        *,
        row_number() over (
            partition by la_gss_code, line_key, occurrence_in_file
            order by is_outside_period, period_end - period_start, source_file
        ) as copy_rank,
        first_value(source_file) over (
            partition by la_gss_code, line_key, occurrence_in_file
            order by is_outside_period, period_end - period_start, source_file
        ) as kept_source_file,
        first_value(source_row_number) over (
            partition by la_gss_code, line_key, occurrence_in_file
            order by is_outside_period, period_end - period_start, source_file
        ) as kept_source_row_number,
        count(*) over (partition by la_gss_code, line_key, occurrence_in_file) as copies
    from occurrences

),

singles as (

    select
        keyed.*,
        1 as occurrence_in_file,
        1 as copy_rank,
        keyed.source_file as kept_source_file,
        keyed.source_row_number as kept_source_row_number,
        1 as copies
    from keyed
    where not exists (
        select 1
        from repeated_keys
        where keyed.la_gss_code = repeated_keys.la_gss_code and keyed.line_key = repeated_keys.line_key
    )

),

ranked as (

    select * from ranked_repeats
    union all
    select * from singles

)

select
    la_gss_code,
    body_name,
    payment_date,
    financial_year,
    transaction_id,
    amount,
    supplier_name,
    supplier_name_published,
    supplier_key,
    is_supplier_withheld,
    supplier_id,
    company_number,
    charity_number,
    service_area,
    expense_type,
    expense_code,
    description,
    classification,
    period_start,
    period_end,
    period_from,
    is_outside_period,
    warning_rules,
    line_key,
    occurrence_in_file,
    copies,
    copy_rank > 1 as is_repeat,
    kept_source_file,
    kept_source_row_number,
    source_file,
    file_sha256,
    source_row_number,
    load_id
from ranked
