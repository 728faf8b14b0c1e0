"""`make bench`: Conductor measured side by side with the seeds' own design.

`python -m bench` starts a throwaway PostgreSQL cluster, installs the package into one database,
builds the seeds' design (bench/baseline.sql) in schema `seed_baseline` of the same database,
loads both with the same generated data, and prints each benchmark figure next to its target
and its baseline. Results go to bench/results/<UTC date>-<scale>x.{md,json}.
"""
