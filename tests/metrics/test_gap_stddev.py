"""conductor.gap_stddev, from which an appended visit updates the seed's consistency score,
returns exactly what STDDEV_SAMP and STDDEV_POP return over the same whole-day gaps: the same
digits and the same scale (compared as text), including one gap, equal gaps and long histories."""

from __future__ import annotations


def test_gap_stddev_equals_the_aggregates_digit_for_digit(db):
    mismatches = db.rows(
        """
        with sets as (
            select s, 1 + (s % 60) as n, s % 3 as shape from generate_series(1, 20000) as s
        ),
        gaps as (
            select
                s.s,
                (case s.shape
                    when 0 then (abs(hashint8(s.s * 1000 + g)) % 40)
                    when 1 then (abs(hashint8(s.s * 1000 + g)) % 400) * (abs(hashint8(g)) % 3)
                    else 7
                end)::numeric as gap
            from sets as s, generate_series(1, s.n) as g
        ),
        agg as (
            select
                g.s,
                stddev_samp(g.gap) as sample_sd,
                stddev_pop(g.gap) as sd,
                count(g.gap) as n,
                sum(g.gap) as total,
                sum(g.gap * g.gap) as squares
            from gaps as g
            group by g.s
        )
        select a.s, a.sample_sd::text, conductor.gap_stddev(a.n, a.total, a.squares, true)::text,
               a.sd::text, conductor.gap_stddev(a.n, a.total, a.squares, false)::text
        from agg as a
        where a.sample_sd::text is distinct from conductor.gap_stddev(a.n, a.total, a.squares, true)::text
           or a.sd::text is distinct from conductor.gap_stddev(a.n, a.total, a.squares, false)::text
        limit 5
        """
    )
    assert mismatches == []
    # The edge cases the aggregates define: no value, one value, all equal.
    assert db.rows(
        "select conductor.gap_stddev(0, 0, 0, true), conductor.gap_stddev(1, 5, 25, true)::text, "
        "conductor.gap_stddev(1, 5, 25, false)::text, conductor.gap_stddev(3, 21, 147, true)::text"
    ) == [(None, None, "0", "0")]
