// The cases of `sql-refusals.tsv` as (reason, statement) pairs; included by
// the namespace unit test and the host test so both read the list one way.
fn sql_refusal_cases() -> Vec<(&'static str, &'static str)> {
    let cases: Vec<_> = include_str!("sql-refusals.tsv")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('\t').expect("reason<TAB>sql"))
        .collect();
    assert!(cases.len() >= 30, "only {} cases read", cases.len());
    cases
}
