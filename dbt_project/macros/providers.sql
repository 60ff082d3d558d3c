{#-
    organisation_key(expr): the match key of an organisation's name, so that the spellings one organisation is
    written under meet: "KEYS CHILD CARE LTD.", "Keys Child Care Limited", "Keys Child Care (Holdings) Ltd",
    "The Keys Child Care Ltd 04525126" and "Keys Child Care Ltd t/a Keys Group" all become 'keys child care'.
    Steps: lower case; a trading-as tail (' t/a ...', ' trading as ...') dropped (the legal entity decides);
    bracketed text dropped ("(Holdings)", "(UK)", "(2)"); '&' -> ' and '; apostrophes dropped; everything but
    a-z0-9 becomes a space; a trailing company number (6-8 digits) dropped; the words limited, ltd, plc, llp, lp,
    cic, co, company, holdings, holding, group, uk and the dropped; spaces collapsed. Null for a blank name.
    Every provider name the warehouse sees is keyed by it (int_provider_names_unioned). Words keep their
    spaces: "Phoenix Child Care Ltd" and "Phoenix Childcare Ltd" can be two companies, so they meet only by
    scoring (int_provider_names_resolved), never by key.
-#}
{% macro organisation_key(expr) -%}
    nullif(trim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
        regexp_replace(
            replace(replace(replace(
                regexp_replace(lower({{ expr }}), '\s+(t\s*/\s*a|trading\s+as)\s.*$', ''),
                '&', ' and '), '''', ''), '’', ''),
            '\([^)]*\)', ' ', 'g'),
        '[^a-z0-9]+', ' ', 'g'),
        '\s[0-9]{6,8}\s*$', ''),
        '\b(limited|ltd|plc|llp|lp|cic|co|company|holdings|holding|group|uk|the)\b', ' ', 'g'),
        '\s+', ' ', 'g')), '')
{%- endmacro %}
