"""Natural-language revocation (47 CFR 64.1200(a)(10)) read against a corpus of real-world
phrasings, English and Spanish: which texts opt the number out, which suspend marketing and flag
the number for a person, and which must change nothing. Every text is stored as a plain inbound
insert from its own number, the way any path stores it."""

from __future__ import annotations

OPT_OUT = "opt_out"
REVIEW = "review"
NOTHING = None

CORPUS: list[tuple[str, str | None]] = [
    # The rule's words inside a sentence: opted out.
    ("stop texting me please", OPT_OUT),
    ("Please stop", OPT_OUT),
    ("pls stop", OPT_OUT),
    ("unsubscribe me", OPT_OUT),
    ("STOP TEXTING ME", OPT_OUT),
    ("Stop sending me these messages", OPT_OUT),
    ("I want to opt out", OPT_OUT),
    ("opt me out please", OPT_OUT),
    ("How do I unsubscribe?", OPT_OUT),
    ("Can you stop texting me?", OPT_OUT),
    ("quit texting me", OPT_OUT),
    ("Cancel please", OPT_OUT),
    ("I said stop", OPT_OUT),
    ("stop it", OPT_OUT),
    ("Stop. I never signed up for this", OPT_OUT),
    ("no, stop", OPT_OUT),
    ("Ok stop", OPT_OUT),
    ("Please remove me and stop", OPT_OUT),
    ("I revoke my consent", OPT_OUT),
    ("End these texts", OPT_OUT),
    ("I don't want these anymore, unsubscribe", OPT_OUT),
    ("Thanks but please stop messaging me", OPT_OUT),
    ("Stop texting me, I moved away", OPT_OUT),
    ("you can stop now", OPT_OUT),
    ("cancel my subscription", OPT_OUT),
    ("STOP ALL", OPT_OUT),
    ("stop!!! 😡", OPT_OUT),
    ("Quiero darme de baja", OPT_OUT),
    ("darme de baja por favor", OPT_OUT),
    # Likely revocations in other words: marketing suspended, a person decides.
    ("no more texts", REVIEW),
    ("No more texts please", REVIEW),
    ("leave me alone", REVIEW),
    ("remove me from your list", REVIEW),
    ("take me off your list", REVIEW),
    ("don't text me again", REVIEW),
    ("lose my number", REVIEW),
    ("wrong number", REVIEW),
    ("Who is this? Wrong number", REVIEW),
    ("this is spam", REVIEW),
    ("Not interested", REVIEW),
    ("Can you stop?", REVIEW),
    ("no más", REVIEW),
    ("No más mensajes por favor", REVIEW),
    ("no me envíen mensajes", REVIEW),
    ("dejen de escribirme", REVIEW),
    ("basta", REVIEW),
    ("Ya basta!", REVIEW),
    ("no me interesa", REVIEW),
    ("número equivocado", REVIEW),
    ("Sáquenme de su lista", REVIEW),
    ("ALTO", REVIEW),
    # Ordinary messages that use the words: nothing happens.
    ("don't stop sending me deals", NOTHING),
    ("when do you close? end of day?", NOTHING),
    ("can't stop thinking about that strain", NOTHING),
    ("is the sale ending soon?", NOTHING),
    ("I'll stop by later", NOTHING),
    ("Can I stop in after work?", NOTHING),
    ("can I cancel my order?", NOTHING),
    ("I need to cancel my order", NOTHING),
    ("what time do you stop selling tonight?", NOTHING),
    ("Does the sale end today?", NOTHING),
    ("Please don't unsubscribe me", NOTHING),
    ("I do not want to opt out", NOTHING),
    ("never stop sending deals lol", NOTHING),
    ("I quit smoking cigarettes, want to try edibles", NOTHING),
    ("at the end of the day I want the blue dream", NOTHING),
    ("be there by the end of the hour", NOTHING),
    ("Is the weekend sale still on?", NOTHING),
    ("The bus stop is right outside right?", NOTHING),
    ("Nonstop good vibes at your shop", NOTHING),
    ("Do you have any pre rolls?", NOTHING),
    ("yes please", NOTHING),
    ("thanks!", NOTHING),
    ("how much is an eighth?", NOTHING),
    ("Tienen ofertas hoy?", NOTHING),
    ("No más de dos gramos por favor", NOTHING),
    ("no dejen de mandarme ofertas", NOTHING),
    ("Hasta cuándo es la oferta?", NOTHING),
    ("All good on my end, see you Friday", NOTHING),
    ("Your shop is my first stop today", NOTHING),
    ("You said the sale would end Sunday", NOTHING),
]


def test_the_corpus_is_read_as_documented(db):
    phones = {text: f"+1619556{n:04d}" for n, (text, _) in enumerate(CORPUS)}
    with db.connect() as conn:
        for text, _ in CORPUS:
            conn.execute(
                "insert into public.messages (phone_number, content, direction) values (%s, %s, 'inbound')",
                (phones[text], text),
            )
        opted_out = {r[0] for r in conn.execute("select phone_number from conductor.opt_outs")}
        flagged = {
            r[0]
            for r in conn.execute(
                "select phone_number from conductor.opt_out_reviews where resolved_at is null"
            )
        }
        confirmations = dict(
            conn.execute(
                "select phone_number, count(*) from public.messages "
                "where direction = 'outbound' and message_kind = 'system' group by phone_number"
            ).fetchall()
        )

    wrong = []
    for text, expected in CORPUS:
        phone = phones[text]
        got = OPT_OUT if phone in opted_out else REVIEW if phone in flagged else NOTHING
        if got != expected:
            wrong.append(f"{text!r}: expected {expected}, got {got}")
        elif expected == OPT_OUT and confirmations.get(phone) != 1:
            wrong.append(f"{text!r}: {confirmations.get(phone, 0)} confirmations, expected exactly 1")
        elif expected != OPT_OUT and phone in confirmations:
            wrong.append(f"{text!r}: a confirmation was queued without an opt-out")
    assert not wrong, "\n".join(wrong)
    assert sum(1 for _, e in CORPUS if e is OPT_OUT) >= 25
    assert sum(1 for _, e in CORPUS if e is REVIEW) >= 20
    assert sum(1 for _, e in CORPUS if e is NOTHING) >= 25


def test_ordinary_texts_stay_unread_for_the_responder_and_flags_stay_unread_for_a_person(db):
    with db.connect() as conn:
        conn.execute(
            "insert into public.messages (phone_number, content, direction) values "
            "('+16195569001', 'when do you close? end of day?', 'inbound'), "
            "('+16195569002', 'leave me alone', 'inbound'), "
            "('+16195569003', 'stop texting me please', 'inbound')"
        )
        statuses = dict(
            conn.execute(
                "select phone_number, status from public.messages where direction = 'inbound'"
            ).fetchall()
        )
    assert statuses == {
        "+16195569001": "unread",
        "+16195569002": "unread",
        "+16195569003": "read",
    }


def test_a_long_text_is_read_to_its_end(db):
    # The longest concatenated SMS (255 parts of 153 characters), everyday words throughout, the
    # revocation at the very end.
    filler = "stop by the end of the day, "
    text = (filler * (255 * 153 // len(filler)))[: 255 * 153 - 30] + " please stop texting me"
    with db.connect() as conn:
        conn.execute(
            "insert into public.messages (phone_number, content, direction) "
            "values ('+16195569101', %s, 'inbound')",
            (text,),
        )
        keyword = conn.execute(
            "select keyword from conductor.opt_outs where phone_number = '+16195569101'"
        ).fetchone()
    assert keyword == ("stop texting",)
