//! Pipeline hooks: a configured command or a Jenkins job, run with the parameters the operator
//! typed, its output streamed line by line and its result reported.
