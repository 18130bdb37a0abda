"""Pure domain code: the rules of shared/docs/rules.md. No Flask, no database."""
