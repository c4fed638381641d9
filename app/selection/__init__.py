"""Which comparison to ask for next: active pair selection for ranking systems (`ranking.py`) and for
reward-model data (`reward_data.py`), behind the `uniform` / `active` strategies (`strategies.py`);
simulated annotators to measure them (`simulation.py`, `preflab simulate`). Pure numpy/scipy, no
database: the assignment service passes plain data in and maps the indices it gets back."""
