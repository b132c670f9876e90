"""cProfile of no-reason return creates in-process, on the database ``bench/returns.py`` leaves
behind: the test client with one handler and the bench's signed-in sessions, as
``bench/instructions.py`` runs them. Prints the functions by cumulative time.

    .venv/bin/python bench/profile_create.py                 # 60 creates after 20 of warm-up
    .venv/bin/python bench/profile_create.py --sort tottime --top 40
"""

import argparse
import cProfile
import os
import pstats
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/aftersales_bench_returns"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--creates", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args(argv)
    sys.path.insert(0, REPO)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from bench import returns as bench_returns

    items, run = bench_returns.unused_signed_creator(args.warmup + args.creates)
    run(items[: args.warmup])
    profile = cProfile.Profile()
    profile.enable()
    run(items[args.warmup :])
    profile.disable()
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
