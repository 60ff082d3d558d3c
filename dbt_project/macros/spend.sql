{#-
    is_withheld_supplier(expr): true when a published supplier name is blank or withheld for data protection
    ("Redacted Personal Information", "REDACTED", "Personal Data Withheld", "Private Individual", ...).
-#}
{% macro is_withheld_supplier(expr) -%}
    coalesce(
        trim({{ expr }}) = ''
        or regexp_matches(
            lower({{ expr }}),
            '^\s*(redacted|withheld|personal data|personal information|private individual|individual|data protection|'
            || 'name withheld|not disclosed|undisclosed)\b|\b(redacted|withheld)\b'
        ),
        true
    )
{%- endmacro %}

{#-
    company_number(expr): a Companies House number as written in a ledger, normalised to 8 characters
    ('1234567' -> '01234567', 'sc123456' -> 'SC123456'); null when it is not one.
-#}
{% macro company_number(expr) -%}
    case
        when regexp_full_match(upper(replace(trim({{ expr }}), ' ', '')), '[0-9]{1,8}')
            then lpad(upper(replace(trim({{ expr }}), ' ', '')), 8, '0')
        when regexp_full_match(upper(replace(trim({{ expr }}), ' ', '')), '(SC|NI|OC|SO|NC|R0|IP|RC|LP|SL|SE|FC)[0-9]{6}')
            then upper(replace(trim({{ expr }}), ' ', ''))
    end
{%- endmacro %}

{#- financial_year_label(date_expr): the April-March financial year of a date, written '2023-24'
    (the same rule as the DuckDB macro financial_year in ingest/spend_macros.sql). -#}
{% macro financial_year_label(expr) -%}
    cast(year({{ expr }}) - case when month({{ expr }}) < 4 then 1 else 0 end as varchar) || '-'
    || lpad(cast((year({{ expr }}) + case when month({{ expr }}) < 4 then 0 else 1 end) % 100 as varchar), 2, '0')
{%- endmacro %}

{#- row_signature(columns): one value standing for a combination of (nullable) columns, for joining a row back
    to the distinct combinations it was classified by. DuckDB: its 64-bit hash (nulls included); elsewhere md5. -#}
{% macro row_signature(columns) -%}
    {{ return(adapter.dispatch('row_signature')(columns)) }}
{%- endmacro %}

{% macro default__row_signature(columns) -%}
    md5(concat_ws('|', {% for c in columns %}coalesce(cast({{ c }} as varchar), '\x00'){{ ", " if not loop.last }}{% endfor %}))
{%- endmacro %}

{% macro duckdb__row_signature(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{#- spend_words(expr): a ledger's words as the spend vocabulary matches them: lower case, '&' -> ' and ', every
    character that is not a letter or digit -> one space, trimmed ("Children's Homes" -> 'children s homes'). -#}
{% macro spend_words(expr) -%}
    nullif(trim(regexp_replace(replace(lower({{ expr }}), '&', ' and '), '[^a-z0-9]+', ' ', 'g')), '')
{%- endmacro %}

{#- public_body_kind(expr): 'local authority', 'nhs', 'school' or 'college' when a supplier's name says it is a
    council, an NHS or other public body, a school, or an academy, college, university or nursery; null otherwise.
    Such a supplier is never "who is paid" for a placement (its line is classified by its words), except a school
    whose group runs residential special schools. -#}
{% macro public_body_kind(expr) -%}
    case
        when regexp_matches(
            lower({{ expr }}),
            '\b(council|london borough|royal borough|combined authority|police|fire and rescue|hm revenue|hmrc|'
            || 'department for|ministry of)\b'
        ) then 'local authority'
        when regexp_matches(
            lower({{ expr }}),
            '\b(nhs|clinical commissioning|integrated care board|health board|foundation trust|hospitals?|'
            || 'primary care trust|icb|ccg)\b'
        ) then 'nhs'
        when regexp_matches(lower({{ expr }}), '\bschools?\b') then 'school'
        when regexp_matches(lower({{ expr }}), '\b(academy|academies|college|university|nursery)\b')
            then 'college'
    end
{%- endmacro %}

{#- spend_classification_signature(): one value per combination of what classifies a spend line (its LA, words
    and who is paid), for the distinct combinations int_spend__signatures_matched classifies. A description is read
    only on lines that carry no expense type, code or classification. -#}
{% macro spend_classification_signature() -%}
    {{ row_signature(['la_gss_code', 'service_area', 'expense_type', 'expense_code', 'classification',
                      'vocabulary_description', 'supplier_spend_category', 'supplier_spend_categories',
                      'supplier_runs_several_kinds', 'supplier_payee', 'supplier_name_category',
                      'known_provider_group_id']) }}
{%- endmacro %}

{#- spend_vocabulary_description(): the description read against the vocabulary (see above). -#}
{% macro spend_vocabulary_description() -%}
    case when expense_type is null and expense_code is null and classification is null then description end
{%- endmacro %}

{#- spend_learned_fields(): the fields a council's placement words are learned on, most specific first, each as
    (name, SQL of its value, SQL of when a line has it). Read by int_spend__words_learned (the evidence) and
    int_spend__lines_classified (a line's most specific words). -#}
{% macro spend_learned_fields() -%}
    {{ return([
        ('expense code', 'expense_code', 'expense_code is not null'),
        ('service area and expense type', "service_area || ' / ' || expense_type",
         'service_area is not null and expense_type is not null'),
        ('expense type', 'expense_type', 'expense_type is not null'),
        ('classification', 'classification', 'classification is not null'),
        ('service area', 'service_area', 'service_area is not null'),
    ]) }}
{%- endmacro %}
