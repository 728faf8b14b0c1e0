-- Natural-language revocation of SMS consent (47 CFR 64.1200(a)(10)): reads an inbound text that
-- is more than a bare keyword against conductor.consent_phrases and says whether it opts the
-- number out, should suspend marketing for a person to review, or is an ordinary message.
-- docs/compliance.md explains the rules and the choices behind them.
-- Reads: conductor.consent_phrases.

create function conductor.consent_text(p_content text)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    -- Lower case without accents or apostrophes ("Don't" -> "dont", "más" -> "mas"); "?" kept as a
    -- token; other clause punctuation becomes the token "|"; anything else separates words.
    return pg_catalog.btrim(
        pg_catalog.regexp_replace(
            pg_catalog.regexp_replace(
                pg_catalog.regexp_replace(
                    pg_catalog.regexp_replace(
                        pg_catalog.translate(
                            pg_catalog.lower(coalesce(p_content, '')),
                            'áàâäãåéèêëíìîïóòôöõúùûüñç', 'aaaaaaeeeeiiiiooooouuuunc'
                        ),
                        '[''’‘`´]', '', 'g'
                    ),
                    '\?', ' ? ', 'g'
                ),
                '[.!,;:¿¡()"“”…\r\n]', ' | ', 'g'
            ),
            '[^a-z0-9?|]+', ' ', 'g'
        )
    );
end
$$;
comment on function conductor.consent_text(text) is
'An inbound text as words for conductor.classify_revocation: lower case, no accents or apostrophes, '
'"?" and "|" (other clause punctuation) as tokens, single spaces.';

create function conductor.consent_phrase_form(p_phrase text)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    return pg_catalog.btrim(pg_catalog.regexp_replace(conductor.consent_text(p_phrase), '[ ?|]+', ' ', 'g'));
end
$$;
comment on function conductor.consent_phrase_form(text) is
'A phrase as conductor.consent_phrases stores it: the words of conductor.consent_text without punctuation.';

create function conductor.classify_revocation(p_content text, out verdict text, out phrase text)
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_tokens text[] := pg_catalog.string_to_array(conductor.consent_text(p_content), ' ');
    v_words text;
begin
    if coalesce(pg_catalog.cardinality(v_tokens), 0) = 0 then
        return;
    end if;
    v_words := pg_catalog.array_to_string(
        array(select t.word from pg_catalog.unnest(v_tokens) as t (word) where t.word not in ('|', '?')), ' '
    );
    with tok as (
        select
            t.word,
            t.i::integer as i,
            -- Clause number: each "|" or "?" starts the next clause.
            sum(case when t.word in ('|', '?') then 1 else 0 end) over (order by t.i) as clause,
            coalesce(lag(t.word) over (order by t.i) in ('|', '?'), true) as starts_clause
        from pg_catalog.unnest(v_tokens) with ordinality as t (word, i)
    ),
    phrases as (
        select
            p.phrase,
            p.action,
            p.ambiguous,
            p.whole_message,
            pg_catalog.string_to_array(p.phrase, ' ') as words
        from conductor.consent_phrases as p
    ),
    occ as (
        select
            p.phrase, p.action, p.ambiguous, t.i as s, t.i + pg_catalog.cardinality(p.words) - 1 as e,
            t.clause, t.starts_clause
        from tok as t
        inner join phrases as p on p.words[1] = t.word
        where not p.whole_message
            and v_tokens[t.i:t.i + pg_catalog.cardinality(p.words) - 1] = p.words
        union all
        select p.phrase, p.action, p.ambiguous, 1, pg_catalog.cardinality(v_tokens), 0, true
        from phrases as p
        where p.whole_message and p.phrase = v_words
    ),
    verdicts as (
        select
            o.phrase,
            case
                when exists (
                    select from occ as g
                    where g.action = 'ignore' and g.s <= o.s and g.e >= o.e
                ) then null
                when exists (
                    select from occ as n
                    where n.action = 'negation' and n.clause = o.clause and n.e < o.s and o.s - n.e <= 2
                ) then null
                when o.action = 'opt_out' and o.ambiguous and (
                    exists (select from tok as b where b.clause = o.clause + 1 and b.word = '?')
                    or exists (
                        select from occ as q
                        where q.action = 'question' and q.clause = o.clause and q.starts_clause
                    )
                    or (o.s = 1 and o.e = pg_catalog.cardinality(v_tokens) and '?' = any(v_tokens))
                ) then 'review'
                else o.action
            end as verdict
        from occ as o
        where o.action in ('opt_out', 'review')
    )
    select v.verdict, v.phrase into verdict, phrase
    from verdicts as v
    where v.verdict is not null
    order by v.verdict = 'opt_out' desc, pg_catalog.length(v.phrase) desc, v.phrase
    limit 1;
end
$$;
comment on function conductor.classify_revocation(text) is
'Reads an inbound text against conductor.consent_phrases: verdict opt_out (a revocation: one of the rule''s '
'words or an unambiguous wording, not negated, not inside an everyday phrase, an ambiguous word not in a '
'question), review (a likely revocation in other words, or an ambiguous word in a question: suspend '
'marketing and flag for a person) or null, with the phrase that decided it.';

create function conductor.tg_consent_phrases__normalize()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    new.phrase := conductor.consent_phrase_form(new.phrase);
    if new.phrase = '' then
        raise exception 'phrase is empty: a consent phrase needs at least one letter or digit'
            using errcode = '22023';
    end if;
    return new;
end
$$;
comment on function conductor.tg_consent_phrases__normalize() is
'Trigger: stores a consent phrase in its matching form ("Don''t text me!" -> "dont text me", "no más" -> "no mas").';
