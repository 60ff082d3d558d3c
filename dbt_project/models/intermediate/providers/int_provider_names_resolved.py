"""Organisation -> provider group: the one resolution every mart with a provider group column reads.

One row per organisation match key (every name any source uses for a provider, int_provider_names_unioned).
A name is linked by the first of these that applies, and keeps the method and a score in [0, 1]:

1. override      the analysts' seed (provider_group_overrides): 'belongs to' a group, or 'own group';
2. seed          the curated groups (provider_groups, provider_group_members): the group's name, a brand or a
                 legal entity, by normalised name or as a whole-word prefix;
3. exact name    the name is an owning organisation on the Ofsted register (its own group unless 1-2 say so);
4. company number  shares a company number with a name linked by 1-3, and a distinctive word with it;
5. scored        rapidfuzz over blocked candidate pairs (same first word, or the same first four letters):
                 the edit ratio of the keys, or BRAND_SCORE when the two differ only by generic service words
                 (seed provider_name_words). Linked when >= ACCEPT and ahead of any other group by MARGIN;
6. urn           seen with URNs whose owners all resolve to one group (settings, placement extracts);
7. scored        names no source knows, among themselves, in blocks of the same distinctive words: a name
                 joins the shorter one it extends by generic words, or a spelling with more spend;
8. company number  names no one else knows, sharing a company number and a distinctive word, become one;
9. individual    looks like a private individual (a first name and a surname, a title, initials): rolls up
                 to the 'private individuals' group of the paying LA in the marts, never shown by name.
Anything else is its own organisation and group ('own name'). A 'not same as' override forbids the links of
4-8 between the two names (or their groups). Near misses and low-score links go to audit.provider_match_review.

The row work is DuckDB SQL (blocking, token sets) and rapidfuzz over arrays (process.cpdist): no Python loop
over names or pairs.
"""

import pandas as pd
from rapidfuzz import fuzz, process

ACCEPT = 0.94  # scored links at or above this are made
CONFIDENT = 0.95  # links made below this are listed for review
NEAR_MISS = 0.75  # unlinked candidates at or above this are listed for review
MARGIN = 0.03  # the best group must lead the next group by this much
BRAND_SCORE = 0.94  # a name that differs from an organisation's only by generic words: linked, and reviewed


def _score(session, queries, targets, out, among_themselves=False):
    """Score blocked pairs (query name, target name) and keep, per query, the best group, the runner-up and
    whether it is linked. Among themselves, a target must be the base of the query: the query extends it by
    generic words, or is a spelling of it with less spend."""
    if among_themselves:
        # Names no source knows pair only with names of the same distinctive words (the brand rule's pairs):
        # blocks stay small however many unknown names a national ledger holds.
        session.execute(f"""
            create or replace temp table resolution_cores as
            select n.*, array_to_string(list_filter(string_split(n.organisation_key, ' '),
                                                    x -> not list_contains(w.generic, x)), ' ') as core
            from {queries} as n cross join resolution_words_generic as w
        """)
        blocking = """
            select q.match_key as q_key, q.organisation_key as q_okey, q.spend as q_spend,
                   t.match_key as t_key, t.organisation_key as t_okey, t.group_id, t.name as t_name,
                   t.spend as t_spend
            from resolution_cores as q
            inner join resolution_cores as t
                on q.core = t.core
            where regexp_matches(q.match_key, '[a-z]') and length(q.match_key) >= 4 and q.match_key <> t.match_key
        """
    else:
        blocking = f"""
            select q.match_key as q_key, q.organisation_key as q_okey, q.spend as q_spend,
                   t.match_key as t_key, t.organisation_key as t_okey, t.group_id, t.name as t_name,
                   t.spend as t_spend
            from {queries} as q
            inner join {targets} as t
                on string_split(q.organisation_key, ' ')[1] = string_split(t.organisation_key, ' ')[1]
            where regexp_matches(q.match_key, '[a-z]') and length(q.match_key) >= 4 and q.match_key <> t.match_key
            union
            select q.match_key, q.organisation_key, q.spend, t.match_key, t.organisation_key, t.group_id, t.name,
                   t.spend
            from {queries} as q
            inner join {targets} as t
                on left(replace(q.match_key, ' ', ''), 4) = left(replace(t.match_key, ' ', ''), 4)
            where regexp_matches(q.match_key, '[a-z]') and length(q.match_key) >= 4 and q.match_key <> t.match_key
        """
    pairs = session.execute(f"""
        with blocked as ({blocking}),
        tokens as (
            select *,
                   list_distinct(string_split(q_okey, ' ')) as q_tokens,
                   list_distinct(string_split(t_okey, ' ')) as t_tokens
            from blocked
        ),
        differences as (
            select *,
                   list_filter(q_tokens, x -> not list_contains(t_tokens, x)) as q_extra,
                   list_filter(t_tokens, x -> not list_contains(q_tokens, x)) as t_extra
            from tokens
        )
        select
            q_key, t_key, group_id, t_name, coalesce(q_spend, 0) as q_spend, coalesce(t_spend, 0) as t_spend,
            len(list_filter(list_intersect(q_tokens, t_tokens),
                            x -> length(x) >= 3 and not list_contains(w.generic, x))) > 0
            and (
                (len(t_extra) = 0 and list_has_all(w.generic, q_extra))
                or (len(q_extra) = 0 and list_has_all(w.generic, t_extra) and not {among_themselves})
            ) as differs_by_generic_words
        from differences
        cross join resolution_words_generic as w
    """).df()
    ratio = process.cpdist(pairs["q_key"].str.replace(" ", "").tolist(), pairs["t_key"].str.replace(" ", "").tolist(),
                           scorer=fuzz.ratio, workers=1)
    pairs["score"] = pd.Series(ratio, index=pairs.index, dtype="float64") / 100.0
    pairs.loc[pairs["differs_by_generic_words"], "score"] = pairs["score"].clip(lower=BRAND_SCORE)
    if among_themselves:  # orient spellings: the name with more spend is the base
        spelling = ~pairs["differs_by_generic_words"]
        keep = ~spelling | (pairs["t_spend"] > pairs["q_spend"]) | (
            (pairs["t_spend"] == pairs["q_spend"]) & (pairs["t_key"] < pairs["q_key"]))
        pairs = pairs[keep]
    # Typed by SQL, not by pandas: an empty frame would otherwise come back with integer columns.
    session.register("resolution_pairs_frame", pairs[["q_key", "t_key", "group_id", "t_name", "score"]])
    session.execute("""
        create or replace temp table resolution_pairs_df as
        select cast(q_key as varchar) as q_key, cast(t_key as varchar) as t_key, cast(group_id as varchar) as group_id,
               cast(t_name as varchar) as t_name, cast(score as double) as score
        from resolution_pairs_frame
    """)
    session.execute(f"""
        create or replace temp table {out} as
        with forbidden as (
            select o.match_key as a_key, o.other_match_key as b_key from resolution_overrides as o
            where o.decision = 'not same as'
            union
            select o.other_match_key, o.match_key from resolution_overrides as o where o.decision = 'not same as'
        ),
        forbidden_groups as (
            select f.a_key, a.group_id from forbidden as f inner join resolution_anchors as a on f.b_key = a.match_key
        ),
        allowed as (
            select p.* from resolution_pairs_df as p
            where not exists (select 1 from forbidden as f where f.a_key = p.q_key and f.b_key = p.t_key)
              and not exists (select 1 from forbidden_groups as g where g.a_key = p.q_key and g.group_id = p.group_id)
        ),
        per_group as (
            select q_key, group_id, max(score) as score, first(t_name order by score desc, t_key) as t_name,
                   first(t_key order by score desc, t_key) as t_key
            from allowed group by q_key, group_id
        ),
        ranked as (
            select *, row_number() over (partition by q_key order by score desc, group_id) as rank
            from per_group
        )
        select
            b.q_key as match_key,
            b.group_id as candidate_group_id,
            b.t_name as candidate_name,
            b.t_key as candidate_key,
            b.score as candidate_score,
            s.score as runner_up_score,
            b.score >= {ACCEPT} and b.score - coalesce(s.score, 0) >= {MARGIN} as is_linked
        from ranked as b
        left join ranked as s on b.q_key = s.q_key and s.rank = 2
        where b.rank = 1 and b.score >= {NEAR_MISS}
    """)


def model(dbt, session):
    dbt.config(materialized="table")

    dbt.ref("int_provider_names_unioned").create_view("resolution_names")
    dbt.ref("int_provider_group_seeds_keyed").create_view("resolution_seed_entries")
    dbt.ref("int_provider_group_overrides_keyed").create_view("resolution_overrides")
    dbt.ref("provider_groups").create_view("resolution_groups")
    dbt.ref("provider_name_words").create_view("resolution_words")

    # One row per match key, what every source knows about it.
    session.execute("""
        create or replace temp table resolution_keys as
        select
            match_key,
            min(organisation_key) as organisation_key,
            first(organisation_name order by name_source = 'ofsted owner' desc, spend desc, records desc,
                  organisation_name) as name,
            bool_or(name_source = 'ofsted owner') as is_register_owner,
            list_sort(list_distinct(list_distinct(flatten(list(urn_owner_keys))))) as urn_owner_keys,
            first(company_number order by spend desc, company_number) filter (where company_number is not null)
                as company_number,
            bool_or(charity_number is not null) as has_charity_number,
            sum(spend) as spend,
            max(las) as las,
            string_agg(distinct name_source, ', ' order by name_source) as sources
        from resolution_names
        group by match_key
    """)

    # 1-3: overrides, seed entries, register owners.
    session.execute("""
        create or replace temp table resolution_direct as
        with seed_hits as (
            select
                k.match_key,
                e.group_id,
                e.entry_name,
                e.match_key as entry_key,
                row_number() over (
                    partition by k.match_key
                    order by (e.match_type = 'name') desc, length(e.organisation_key) desc, e.group_id, e.entry_name
                ) as preference
            from resolution_keys as k
            inner join resolution_seed_entries as e
                on k.match_key = e.match_key
                or (e.match_type = 'prefix' and starts_with(k.organisation_key, e.organisation_key || ' '))
        )
        select
            k.match_key,
            case
                when o.decision = 'belongs to' then o.group_id
                when o.decision = 'own group' then null
                when s.group_id is not null then s.group_id
            end as group_id,
            case
                when o.decision is not null then 'override'
                when s.group_id is not null then 'seed'
                when k.is_register_owner then 'exact name'
            end as link_method,
            case
                when o.decision is not null then o.name
                when s.group_id is not null then s.entry_name
                when k.is_register_owner then k.name
            end as linked_to_name,
            coalesce(o.match_key, s.entry_key, case when k.is_register_owner then k.match_key end) as linked_to_key
        from resolution_keys as k
        left join resolution_overrides as o
            on k.match_key = o.match_key and o.decision in ('belongs to', 'own group')
        left join seed_hits as s
            on k.match_key = s.match_key and s.preference = 1
        where o.decision is not null or s.group_id is not null or k.is_register_owner
    """)
    # A group of its own is named after its anchor's key: 'org-' and 12 hex digits of its md5.
    session.execute("update resolution_direct set group_id = 'org-' || left(md5(match_key), 12) where group_id is null")
    session.execute("""
        create or replace temp table resolution_anchors as
        select d.match_key, d.group_id, k.organisation_key, k.name, k.spend
        from resolution_direct as d inner join resolution_keys as k using (match_key)
        union
        select e.match_key, e.group_id, e.organisation_key, e.entry_name as name, 0 as spend
        from resolution_seed_entries as e
    """)

    # 4: a company number shared with a directly resolved name (and a distinctive word).
    session.execute("""
        create or replace temp table resolution_words_generic as
        select list(word) as generic from resolution_words where kind = 'generic'
    """)
    session.execute("""
        create or replace temp table resolution_linked as
        with pending as (
            select k.* from resolution_keys as k
            where k.match_key not in (select match_key from resolution_direct)
        ),
        by_company as (
            select
                p.match_key,
                a.group_id,
                a.name as linked_to_name,
                a.match_key as linked_to_key,
                row_number() over (partition by p.match_key order by a.match_key) as preference
            from pending as p
            inner join resolution_keys as c
                on p.company_number = c.company_number and p.match_key <> c.match_key
            inner join resolution_anchors as a
                on c.match_key = a.match_key
            cross join resolution_words_generic as w
            where len(list_filter(
                list_intersect(string_split(p.organisation_key, ' '), string_split(a.organisation_key, ' ')),
                x -> length(x) >= 3 and not list_contains(w.generic, x)
            )) > 0
        )
        select match_key, group_id, 'company number' as link_method, linked_to_name, linked_to_key,
               1.0 as link_score
        from by_company where preference = 1
    """)

    # 5: scored against the directly resolved names.
    session.execute("""
        create or replace temp view resolution_pending as
        select k.match_key, k.organisation_key, k.spend
        from resolution_keys as k
        where k.match_key not in (select match_key from resolution_direct)
          and k.match_key not in (select match_key from resolution_linked)
    """)
    _score(session, "resolution_pending", "resolution_anchors", "resolution_scored")
    session.execute("""
        insert into resolution_linked
        select match_key, candidate_group_id, 'scored', candidate_name, candidate_key, candidate_score
        from resolution_scored where is_linked
    """)

    # 6: URNs whose owners all resolve to one group.
    session.execute("""
        insert into resolution_linked
        select
            p.match_key,
            min(a.group_id),
            'urn',
            min(a.name),
            min(a.match_key),
            1.0
        from resolution_keys as p, unnest(p.urn_owner_keys) as u(owner_key)
        inner join resolution_anchors as a
            on u.owner_key = a.match_key
        where p.match_key not in (select match_key from resolution_direct)
          and p.match_key not in (select match_key from resolution_linked)
        group by p.match_key
        having count(distinct a.group_id) = 1
    """)

    # 7: names no source knows, scored among themselves: a name joins a shorter one it extends by generic
    # words ("Foster Care Link Childcare Ltd" -> "Foster Care Link Ltd"), or a spelling of it with more spend.
    session.execute("""
        create or replace temp table resolution_unknown as
        select k.match_key, k.organisation_key, k.spend, 'org-' || left(md5(k.match_key), 12) as group_id, k.name
        from resolution_keys as k
        where k.match_key not in (select match_key from resolution_direct)
          and k.match_key not in (select match_key from resolution_linked)
    """)
    _score(session, "resolution_unknown", "resolution_unknown", "resolution_scored_unknown", among_themselves=True)
    session.execute("""
        insert into resolution_linked
        select s.match_key, s.candidate_group_id, 'scored', s.candidate_name, s.candidate_key, s.candidate_score
        from resolution_scored_unknown as s
        where s.is_linked
          and s.candidate_key not in (select match_key from resolution_scored_unknown where is_linked)
    """)

    # 7-8 and the result.
    result = session.execute("""
        with first_names as (select list(word) as words from resolution_words where kind = 'first name'),
        organisation_words as (select list(word) as words from resolution_words where kind = 'organisation'),
        resolved as (
            select match_key, group_id, link_method, linked_to_name, linked_to_key, 1.0 as link_score
            from resolution_direct
            union all
            select match_key, group_id, link_method, linked_to_name, linked_to_key, link_score
            from resolution_linked
        ),
        unresolved as (
            select k.* from resolution_keys as k
            where k.match_key not in (select match_key from resolved)
        ),
        shared_company as (
            select
                u.match_key,
                first_value(u.match_key) over (
                    partition by u.company_number order by u.spend desc, u.match_key
                ) as representative_key,
                first_value(u.name) over (
                    partition by u.company_number order by u.spend desc, u.match_key
                ) as representative_name,
                first_value(u.organisation_key) over (
                    partition by u.company_number order by u.spend desc, u.match_key
                ) as representative_okey,
                u.organisation_key
            from unresolved as u
            where u.company_number is not null
        ),
        by_company as (
            select s.*
            from shared_company as s
            cross join resolution_words_generic as w
            where s.match_key <> s.representative_key
              and len(list_filter(
                  list_intersect(string_split(s.organisation_key, ' '), string_split(s.representative_okey, ' ')),
                  x -> length(x) >= 3 and not list_contains(w.generic, x))) > 0
        ),
        individuals as (
            select u.match_key
            from unresolved as u, first_names as f, organisation_words as o
            where u.company_number is null and not u.has_charity_number
              and not regexp_matches(u.name, '[0-9]')
              and not list_has_any(string_split(regexp_replace(lower(u.name), '[^a-z0-9]+', ' ', 'g'), ' '), o.words)
              and (
                  regexp_matches(lower(trim(u.name)), '^(mr|mrs|ms|miss|mx|dr)\\.?\\s+\\S')
                  or regexp_matches(lower(trim(u.name)), '^([a-z]\\.?\\s+){1,2}[a-z''-]{2,}$')
                  or regexp_matches(lower(trim(u.name)), '^[a-z''-]{2,},?\\s+([a-z]\\.?\\s*){1,2}$')
                  or (
                      list_contains(f.words, string_split(u.organisation_key, ' ')[1])
                      and len(string_split(u.organisation_key, ' ')) between 2 and 3
                  )
              )
        )
        select
            k.match_key,
            k.organisation_key,
            k.name as organisation_name,
            k.is_register_owner,
            k.sources,
            k.spend,
            k.las,
            k.company_number,
            case
                when r.group_id is not null then r.group_id
                when c.representative_key is not null then 'org-' || left(md5(c.representative_key), 12)
                when i.match_key is not null then 'individuals'
                else 'org-' || left(md5(k.match_key), 12)
            end as group_id,
            case
                when r.link_method is not null then r.link_method
                when c.representative_key is not null then 'company number'
                when i.match_key is not null then 'individual'
                else 'own name'
            end as link_method,
            coalesce(r.link_score, case when c.representative_key is not null then 1.0 end) as link_score,
            coalesce(r.linked_to_name, c.representative_name) as linked_to_name,
            coalesce(r.linked_to_key, c.representative_key) as linked_to_key,
            i.match_key is not null and r.group_id is null and c.representative_key is null as is_individual,
            not regexp_matches(k.match_key, '[a-z]') as has_no_letters,
            sc.candidate_name,
            sc.candidate_group_id,
            sc.candidate_score,
            sc.runner_up_score
        from resolution_keys as k
        left join resolved as r on k.match_key = r.match_key
        left join by_company as c on k.match_key = c.match_key and r.group_id is null
        left join individuals as i on k.match_key = i.match_key
        left join (
            select * from resolution_scored
            union all by name
            select * from resolution_scored_unknown
            where match_key not in (select match_key from resolution_scored)
        ) as sc on k.match_key = sc.match_key
    """)
    return result.fetch_arrow_table()
