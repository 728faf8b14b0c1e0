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
    v_count integer := coalesce(pg_catalog.cardinality(v_tokens), 0);
    v_words text;
    -- Per token (fixed-width arrays, so reading one is cheap however long the text):
    v_clause integer[];          -- its clause number (each "|" or "?" starts the next clause)
    v_starts boolean[];          -- it is the first word of its clause
    v_qmark boolean[];           -- it is "?"
    v_ignored boolean[];         -- it is inside an everyday phrase
    v_negation_end boolean[];    -- a negation ends here
    v_question boolean[];        -- per clause (index clause + 1): it is a question
    v_occ record;
    v_covered boolean;
    v_negated boolean;
    v_in_question boolean;
    v_review text;
begin
    -- Most texts contain no word that starts a revocation phrase: done at once.
    if v_count = 0 or not exists (
        select from pg_catalog.unnest(v_tokens) as t (word)
        inner join conductor.consent_phrases as p on pg_catalog.split_part(p.phrase, ' ', 1) = t.word
        where p.action in ('opt_out', 'review') and p.enabled
    ) then
        return;
    end if;

    select
        pg_catalog.array_agg(c.clause order by c.i),
        pg_catalog.array_agg(c.starts order by c.i),
        pg_catalog.array_agg(c.word = '?' order by c.i),
        pg_catalog.array_to_string(pg_catalog.array_agg(c.word order by c.i) filter (where c.word not in ('|', '?')), ' ')
    into v_clause, v_starts, v_qmark, v_words
    from (
        select
            t.word,
            t.i,
            sum(case when t.word in ('|', '?') then 1 else 0 end) over (order by t.i)::integer as clause,
            coalesce(lag(t.word) over (order by t.i) in ('|', '?'), true) as starts
        from pg_catalog.unnest(v_tokens) with ordinality as t (word, i)
    ) as c;

    v_question := pg_catalog.array_fill(false, array[v_clause[v_count] + 1]);
    v_ignored := pg_catalog.array_fill(false, array[v_count]);
    v_negation_end := pg_catalog.array_fill(false, array[v_count]);
    -- A clause ended by "?" is a question (the "?" is the first token of the next clause).
    for i in 1..v_count loop
        if v_qmark[i] then
            v_question[v_clause[i]] := true;
        end if;
    end loop;

    -- Every occurrence of a phrase as whole words: a phrase of n words occurs at token i when the
    -- n tokens from i are its words ("|" and "?" are never words, so no phrase spans a clause
    -- boundary; each token carries only the few tokens after it). The markers (question words,
    -- negations, everyday phrases) come first, then opt_out before review, longest first.
    for v_occ in
        with phrases as (
            select
                p.phrase, p.action, p.ambiguous, p.whole_message, pg_catalog.string_to_array(p.phrase, ' ') as words
            from conductor.consent_phrases as p
            where p.enabled
        ),
        tok as (
            select
                t.word,
                t.i::integer as i,
                pg_catalog.array_agg(t.word) over (
                    order by t.i rows between current row and (
                        select coalesce(max(pg_catalog.cardinality(w.words)), 1) - 1 from phrases as w
                    ) following
                ) as next_words
            from pg_catalog.unnest(v_tokens) with ordinality as t (word, i)
        ),
        occurrences as (
            select p.phrase, p.action, p.ambiguous, false as whole_message, t.i as s,
                t.i + pg_catalog.cardinality(p.words) - 1 as e
            from tok as t
            inner join phrases as p on p.words[1] = t.word
            where not p.whole_message and t.next_words[1:pg_catalog.cardinality(p.words)] = p.words
            union all
            select p.phrase, p.action, p.ambiguous, true, 1, v_count
            from phrases as p
            where p.whole_message and p.phrase = v_words and p.action in ('opt_out', 'review')
        )
        select o.*
        from occurrences as o
        order by o.action in ('opt_out', 'review'), o.action, pg_catalog.length(o.phrase) desc, o.phrase, o.s
    loop
        if v_occ.action = 'question' then
            if v_starts[v_occ.s] then
                v_question[v_clause[v_occ.s] + 1] := true;
            end if;
            continue;
        elsif v_occ.action = 'negation' then
            v_negation_end[v_occ.e] := true;
            continue;
        elsif v_occ.action = 'ignore' then
            for j in v_occ.s..v_occ.e loop
                v_ignored[j] := true;
            end loop;
            continue;
        end if;

        if not v_occ.whole_message then
            -- Inside an everyday phrase ("end of day", "stop by")?
            v_covered := true;
            for j in v_occ.s..v_occ.e loop
                if not v_ignored[j] then
                    v_covered := false;
                    exit;
                end if;
            end loop;
            if v_covered then
                continue;
            end if;
            -- A negation ending at most one word before it, in the same clause ("dont stop", "dont ever stop")?
            v_negated := false;
            for j in greatest(1, v_occ.s - 2)..v_occ.s - 1 loop
                if v_negation_end[j] and v_clause[j] = v_clause[v_occ.s] then
                    v_negated := true;
                end if;
            end loop;
            if v_negated then
                continue;
            end if;
            v_in_question := v_question[v_clause[v_occ.s] + 1];
        else
            v_in_question := '?' = any(v_tokens);
        end if;
        if v_occ.action = 'opt_out' and not (v_occ.ambiguous and v_in_question) then
            verdict := 'opt_out';
            phrase := v_occ.phrase;
            return;
        end if;
        -- A review phrase, or an ambiguous word in a question: keep the longest.
        if v_review is null or pg_catalog.length(v_occ.phrase) > pg_catalog.length(v_review) then
            v_review := v_occ.phrase;
        end if;
    end loop;
    if v_review is not null then
        verdict := 'review';
        phrase := v_review;
    end if;
end
$$;
comment on function conductor.classify_revocation(text) is
'Reads an inbound text against conductor.consent_phrases: verdict opt_out (a revocation: one of the rule''s '
'words or an unambiguous wording, not negated, not inside an everyday phrase, an ambiguous word not in a '
'question), review (a likely revocation in other words, or an ambiguous word in a question: suspend '
'marketing and flag for a person) or null, with the phrase that decided it. Linear in the length of the text.';

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
