//! The size of a submission's files, alone and together.

use super::*;

#[test]
fn the_files_of_a_submission_together_stay_within_24_mb() {
    let big = |n: usize| {
        let mut bytes = b"\xFF\xD8\xFF\xE0".to_vec();
        bytes.resize(n, 0);
        FileInput {
            media_type: "image/jpeg".into(),
            bytes,
        }
    };
    let mut input = nigerian();
    let ids = input.person.identifying_information.as_mut().unwrap();
    ids[0].image_front = Some(big(MAX_FILE_BYTES));
    ids[0].image_back = Some(big(MAX_TOTAL_FILE_BYTES - MAX_FILE_BYTES));
    check(SubmissionInput::Individual(input)).unwrap();

    let mut input = nigerian();
    let ids = input.person.identifying_information.as_mut().unwrap();
    ids[0].image_front = Some(big(MAX_FILE_BYTES));
    ids[0].image_back = Some(big(MAX_TOTAL_FILE_BYTES - MAX_FILE_BYTES + 1));
    assert_eq!(
        fields(SubmissionInput::Individual(input)),
        ["identifying_information[0].image_back"]
    );

    let mut input = nigerian();
    let ids = input.person.identifying_information.as_mut().unwrap();
    ids[0].image_front = Some(big(MAX_FILE_BYTES));
    ids[1].image_front = Some(big(MAX_FILE_BYTES));
    assert_eq!(
        fields(SubmissionInput::Individual(input)),
        ["identifying_information[1].image_front"]
    );
}
