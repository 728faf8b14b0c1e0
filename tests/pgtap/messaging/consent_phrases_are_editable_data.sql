-- The revocation phrases are data in conductor.consent_phrases: a phrase an owner adds (written
-- any way: accents, apostrophes and case are normalized) takes effect at once, a phrase disabled
-- (enabled = false, which survives reinstalls) or removed stops counting, and an everyday phrase
-- added keeps words from counting.
begin;
select plan(7);

insert into conductor.consent_phrases (phrase, action, language) values ('Déjenme en PAZ!', 'review', 'es');
select is(
    (
        select count(*)::integer from conductor.consent_phrases
        where phrase = 'dejenme en paz' and action = 'review'
    ), 1, 'a phrase is stored normalized'
);
insert into public.messages (phone_number, content, direction) values ('+16195552801', 'por favor déjenme en paz', 'inbound');
select is(
    (
        select matched_phrase from conductor.opt_out_reviews
        where phone_number = '+16195552801'
    ), 'dejenme en paz', 'a text with the new phrase is flagged'
);

update conductor.consent_phrases set enabled = false
where phrase = 'leave me alone' and action = 'review';
delete from conductor.consent_phrases
where phrase = 'go away' and action = 'review';
insert into public.messages (phone_number, content, direction) values
('+16195552802', 'leave me alone', 'inbound'),
('+16195552806', 'go away', 'inbound');
select is(
    (
        select count(*)::integer from conductor.opt_out_reviews
        where phone_number in ('+16195552802', '+16195552806')
    ), 0, 'a disabled or removed phrase no longer counts'
);

insert into public.messages (phone_number, content, direction) values ('+16195552803', 'please stop at the store', 'inbound');
select is(
    (
        select count(*)::integer from conductor.opt_outs
        where phone_number = '+16195552803'
    ), 0, '"stop at" is an everyday phrase by default'
);
insert into conductor.consent_phrases (phrase, action) values ('hold on', 'ignore');
insert into conductor.consent_phrases (phrase, action) values ('hold', 'opt_out');
insert into public.messages (phone_number, content, direction) values
('+16195552804', 'hold on a sec', 'inbound'),
('+16195552805', 'hold please', 'inbound');
select results_eq(
    $$select phone_number from conductor.opt_outs where phone_number in ('+16195552804', '+16195552805')$$,
    $$values ('+16195552805'::text)$$,
    'added opt_out and ignore phrases apply together'
);
select throws_ok(
    $$insert into conductor.consent_phrases (phrase, action) values ('!!!', 'review')$$, '22023',
    'phrase is empty: a consent phrase needs at least one letter or digit',
    'a phrase without words is refused'
);
select throws_ok(
    $$insert into conductor.consent_phrases (phrase, action) values ('goodbye', 'maybe')$$, '23514', null,
    'an unknown action is refused'
);

select * from finish();
rollback;
