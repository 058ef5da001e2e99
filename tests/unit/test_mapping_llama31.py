"""Llama 3.1 / 3.3 rows map to the 128K-context workloads: a 20,000-token prompt is a real request
for them (trtllm-bench's in 20000 / out 2000 rows), not one past Llama 3's 8,192 positions."""
import simulator as sim
from validation.workloads import zoo_name_of


def test_llama_3_1_and_3_3_rows_get_the_long_context_models():
    assert zoo_name_of("Llama 3.1 8B generation (trtllm-bench)") == "llama3.1-8b"
    assert zoo_name_of("Llama 3.3 70B generation (trtllm-bench)") == "llama3.1-70b"
    assert zoo_name_of("Llama 3 8B decode") == "llama3-8b"
    assert zoo_name_of("Llama 3.1 405B generation") == "llama3.1-405b"


def test_the_long_context_models_differ_from_llama_3_only_in_context():
    for old, new in (("llama3-8b", "llama3.1-8b"), ("llama3-70b", "llama3.1-70b")):
        a, b = sim.load_workload(old).params.model_dump(), sim.load_workload(new).params.model_dump()
        assert b.pop("max_positions") == 131072 and a.pop("max_positions") == 8192
        assert a == b
