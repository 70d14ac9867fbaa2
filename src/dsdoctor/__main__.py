"""``python -m dsdoctor`` and the ``dsdoctor`` command: signals are handled before the CLI's
imports (about 0.1 s), so that a SIGINT/SIGTERM then is obeyed like any other."""


def main() -> None:
    from .interrupts import install

    install()
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
