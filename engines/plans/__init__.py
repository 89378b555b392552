"""Engine-independent work on normalized plans (:class:`engines.result.PlanNode`): the
marks every plan view shows (:mod:`.annotate`) and the before/after comparison of two
plans (:mod:`.diff`)."""
