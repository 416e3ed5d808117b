"""The batch job behind `classify --file`: records in, one result line per record out, in order.

records (inputs of every form) -> engine (chunks, in this process or in workers) ->
result_file (locked, resumable output); stop handles SIGINT/SIGTERM; job chains them.
No typer, no exit codes, no flag names: the CLI maps `JobError`s and `JobReport`s to those.
"""
