-- Reusable DuckDB macros for money and dates as councils write them in published CSV files.
-- Installed on a connection by ingest.spend_sql.install_macros(con) (temporary: nothing is stored in the
-- warehouse file). Unit tests: tests/test_spend_parsing.py.

-- Text of an amount with the decoration removed: '£1,234.50' -> '1234.50', '(£1,200.00)' -> '(1200.00)'.
-- Removes '£' (also as mis-decoded cp1252 'Â£'), 'GBP', thousands commas, spaces (incl. non-breaking), and a
-- Unicode minus becomes '-'.
create or replace temp macro money_text(t) as
    upper(replace(replace(replace(replace(replace(replace(replace(trim(t), 'Â£', ''), '£', ''), ',', ''),
        ' ', ''), chr(160), ''), chr(8722), '-'), 'GBP', ''));

-- Amount in pounds as DECIMAL(18, 2), or null when the text is not an amount.
-- Credits are written '-12.50', '(12.50)', '12.50-' or '12.50 CR'; '+12.50' and '12.50 DR' are debits.
-- Three or more decimals are rounded to the penny. Empty text is null. Plain numbers take the fast path.
create or replace temp macro money_of_text(s) as
    try_cast(
        case
            when starts_with(s, '(') and ends_with(s, ')') then '-' || trim(s, '()')
            when ends_with(s, 'CR') then '-' || ltrim(left(s, -2), '-')
            when ends_with(s, 'DR') then left(s, -2)
            when ends_with(s, '-') and not starts_with(s, '-') then '-' || rtrim(s, '-')
            else s
        end as decimal(18, 2));
create or replace temp macro parse_money(t) as
    coalesce(try_cast(t as decimal(18, 2)), money_of_text(money_text(t)));

-- A weekly price as placement-cost extracts write it: parse_money after a 'pw', 'p/w', 'per week', '/week' or '/wk'
-- suffix; a price with more than two decimals is not a price in pounds and pence (null, not rounded).
create or replace temp macro parse_weekly_money(t) as
    case when not regexp_matches(trim(t), '[.][0-9]{3,}')
        then parse_money(regexp_replace(lower(trim(t)), '\s*(p/?w|per\s*week|/\s*week|/wk)$', '')) end;

-- A payment date as councils write it, or null: ISO (2023-07-03, with or without a time), dd/mm/yyyy,
-- dd/mm/yy, dd-mm-yyyy, dd.mm.yyyy, dd-Mon-yy / dd-Mon-yyyy (04-Aug-23), '4 August 2023', '4 Aug 2023',
-- 'Friday, April 29, 2022' (a weekday and a US-style month first, as one government department writes), and an
-- Excel serial day number (45142) left behind by a spreadsheet export. Day-first everywhere (UK publishers).
create or replace temp macro any_spend_date(t) as
    coalesce(
        try_cast(t as date),
        cast(try_strptime(t, [
            '%d/%m/%Y', '%Y-%m-%d %H:%M:%S', '%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d-%b-%Y', '%d-%m-%Y',
            '%d.%m.%Y', '%d %B %Y', '%d %b %Y', '%Y-%m-%dT%H:%M:%S', '%Y/%m/%d', '%A, %B %d, %Y', '%A %d %B %Y',
            '%B %d, %Y', '%d-%B-%Y', '%d/%m/%Y %H:%M:%S.%f'
        ]) as date),
        case when regexp_full_match(t, '[0-9]{5}(\.0+)?')
            then cast(date '1899-12-30' + cast(cast(t as double) as integer) as date) end
    );
-- Two-digit years ('04-Aug-23', '03/07/23') are read as 20xx/19xx only when the text has two digits
-- (strptime's %Y would take '23' as the year 23), and a date before 1990 or after 2099 is a misreading (null).
create or replace temp macro parse_spend_date(t) as
    list_filter([
        case when regexp_full_match(trim(t), '[0-9]{1,2}[-/. ]([0-9]{1,2}|[A-Za-z]{3,9})[-/. ][0-9]{2}')
            then cast(try_strptime(trim(t), ['%d/%m/%y', '%d-%b-%y', '%d-%m-%y', '%d.%m.%y', '%d %b %y']) as date)
            else any_spend_date(trim(t)) end
    ], d -> year(d) between 1990 and 2099)[1];

-- The same for a column whose dates are written month first (mm/dd/yyyy: decided once per column, from values
-- over 12 or the file's period, never row by row); forms that cannot be month first read as above.
create or replace temp macro parse_spend_date_month_first(t) as
    coalesce(
        list_filter([cast(try_strptime(trim(t), ['%m/%d/%Y', '%m/%d/%Y %H:%M:%S', '%m/%d/%Y %H:%M', '%m-%d-%Y',
                                                  '%m.%d.%Y']) as date)], d -> year(d) between 1990 and 2099)[1],
        case when regexp_full_match(trim(t), '[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2}')
            then cast(try_strptime(trim(t), ['%m/%d/%y', '%m-%d-%y', '%m.%d.%y']) as date) end,
        case when not regexp_full_match(trim(t), '[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}.*')
            then parse_spend_date(t) end
    );

-- The financial year (April-March) of a date, written '2023-24'.
create or replace temp macro financial_year(d) as
    cast(year(d) - case when month(d) < 4 then 1 else 0 end as varchar) || '-'
    || lpad(cast((year(d) + case when month(d) < 4 then 0 else 1 end) % 100 as varchar), 2, '0');
