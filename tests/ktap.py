"""KTAP output for the Python checkers (the shell helper is tests/ktap.sh,
the C one tests/workloads/ktap.h).

    from ktap import Ktap
    k = Ktap()
    k.check(cond, "description", "diagnostic line", ...)
    sys.exit(k.finish())      # prints the report; 0 when all passed
"""


class Ktap:
    def __init__(self):
        self.results = []

    def check(self, ok, name, *diag):
        self.results.append((bool(ok), name, [str(d) for d in diag if d]))
        return bool(ok)

    @property
    def failed(self):
        return sum(1 for ok, _, _ in self.results if not ok)

    def finish(self, out=None):
        import sys
        out = out or sys.stdout
        print("KTAP version 1", file=out)
        print(f"1..{len(self.results)}", file=out)
        for i, (ok, name, diag) in enumerate(self.results, 1):
            print(f"{'ok' if ok else 'not ok'} {i} - {name}", file=out)
            for d in diag:
                for line in d.splitlines():
                    print(f"# {line}", file=out)
        print(f"# {self.failed} of {len(self.results)} failed", file=out)
        return 1 if self.failed else 0
