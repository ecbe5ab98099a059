"""The schema of eddy-datagen's card transactions, as the generator itself
states it (`eddy-datagen --source`, TxSourceYaml in tools/datagen): the lines
of a pipeline source from `schema:` to `id: tx_id`. Pipelines in the tests
put it in with `{tx_schema}` and add their own watermark."""
import functools
import pathlib
import subprocess


@functools.lru_cache(maxsize=None)
def tx_schema(bin_dir):
    out = subprocess.run([str(pathlib.Path(bin_dir) / "eddy-datagen"), "--source"], check=True,
                         capture_output=True, text=True, timeout=30).stdout.splitlines()
    start = out.index("    schema:")
    end = out.index("    id: tx_id")
    return "\n".join(out[start:end + 1])
