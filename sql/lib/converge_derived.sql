-- Recomputes the derived tables whose formulas changed since the rows were written (an upgrade
-- over an older install); on a database already at these revisions it writes nothing.
-- Runs after the code layer exists. Writes: the derived tables, conductor.derived_revisions.
select conductor.converge_derived_formulas();
