"""The model, training and sampling tests again under the JAX backend (conftest.BACKEND_MATRIX_FILES).

A file of its own so that pytest-xdist (--dist loadfile) runs it beside the PyTorch run."""


def test_the_model_training_and_sampling_tests_pass_under_jax(run_under_backend):
    run_under_backend("jax")
