"""python3 -m dtensor tour: the tutorial of `dtensor tour`, in Python."""
import sys


def main(argv):
    if len(argv) != 1 or argv[0] != "tour":
        print("usage: [mpirun -np N] python3 -m dtensor tour", file=sys.stderr)
        return 2
    from . import _tour
    return _tour.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
