{#-
    normalised_name(expr): a SQL expression giving the match key of a local-authority name, so that
    "Bristol, City of", "City of Bristol" and "Bristol City Council" all become 'bristol', and
    "St. Helens" / "St Helens", "Southend-on-Sea" / "Southend on Sea",
    "Bournemouth, Christchurch & Poole" / "Bournemouth, Christchurch and Poole" meet.

    THIS MACRO MIRRORS ingest/local_authorities.py (NAME_RULES and normalise_name). The rules are written once,
    in Python, and copied here step by step; change both together. tests/test_local_authorities.py checks that
    the two give the same key for every name variant in the warehouse.

    Steps (each a regexp_replace on the lower-cased text):
      1. '&' -> ' and '; everything but a-z0-9 becomes a space; the text is padded with one space each side
         so that the word rules below can match whole words.
      2. drop the word 'the' anywhere; 'saint' -> 'st'.
      3. 'city of london' is fused into one word first, so that the City of London never becomes 'london'.
      4. drop a leading 'council of', 'city and county of', 'london borough of', 'royal borough of',
         'metropolitan borough of', 'borough of', 'county of', 'city of'.
      5. drop a trailing 'corporation', 'ua', 'mbc', 'mdc', 'london boro(ugh)', 'district'; then a trailing
         '[metropolitan] [borough|district|city] council'; then a trailing 'city of' / 'county of'
         ("Kingston upon Hull, City of", "Herefordshire, County of"); then a trailing '[metropolitan] city|borough'.
      6. remove everything but a-z0-9.
    The word 'county' is deliberately KEPT everywhere else: "Somerset County Council" (the former county,
    E10000027) must stay distinct from "Somerset Council" (the unitary, E06000066); the same holds for
    North Yorkshire, Dorset and Buckinghamshire. "County Durham" and "Durham" are different keys that both
    resolve to E06000047 because both spellings are listed for it.
-#}
{% macro normalised_name(expr) -%}
    {%- set rules = [
        ('[^a-z0-9]+', ' '),
        (' the ', ' '),
        (' saint ', ' st '),
        (' city of london ', ' cityoflondon '),
        ('^ (council of|city and county of|london borough of|royal borough of|metropolitan borough of|borough of|county of|city of) ', ' '),
        (' (corporation|ua|mbc|mdc|london boro|london borough|district) $', ' '),
        (' (metropolitan )?(borough |district |city )?council $', ' '),
        (' (city|county) of $', ' '),
        (' (metropolitan )?(city|borough) $', ' '),
    ] -%}
    {%- set ns = namespace(sql="replace(lower(" ~ expr ~ "), '&', ' and ')") -%}
    {%- for pattern, replacement in rules -%}
        {%- set ns.sql = "regexp_replace(" ~ ns.sql ~ ", '" ~ pattern ~ "', '" ~ replacement ~ "', 'g')" -%}
        {%- if loop.first -%}
            {%- set ns.sql = "(' ' || trim(" ~ ns.sql ~ ") || ' ')" -%}
        {%- endif -%}
    {%- endfor -%}
    regexp_replace({{ ns.sql }}, '[^a-z0-9]', '', 'g')
{%- endmacro %}
