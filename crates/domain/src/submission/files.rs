//! Files in a submission (ID images, business documents): JPEG, PNG or PDF, recognised by
//! their first bytes, and bounded in size. The bytes are sent to the provider and never
//! kept, so their `Debug` shows only the kind and the size.

use std::fmt;

/// Largest accepted file, decoded: Bridge's limit for an ID image (15 MB).
pub const MAX_FILE_BYTES: usize = 15_000_000;

/// Largest accepted total of a submission's files, decoded: Bridge's limit for an ID's two
/// images together (24 MB), applied to the whole submission so that one request never
/// carries more.
pub const MAX_TOTAL_FILE_BYTES: usize = 24_000_000;

/// The kinds of file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
    /// `application/pdf`.
    Pdf,
}

impl FileKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Jpeg, Self::Png, Self::Pdf];

    /// The media type, as in a data URI.
    pub fn media_type(&self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
        }
    }

    /// The kind a declared media type names (`image/jpg` is a common spelling of JPEG).
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type.to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "application/pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// The kind the bytes are, by their signature ("magic bytes"): JPEG `FF D8 FF`, PNG
    /// `89 50 4E 47 0D 0A 1A 0A`, PDF `%PDF-`.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }
}

/// A file the client sent: its declared media type and its decoded bytes.
pub struct FileInput {
    /// The media type of the data URI (`image/png`).
    pub media_type: String,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
}

/// A file whose bytes are of the kind declared, within [`MAX_FILE_BYTES`].
#[derive(Clone, PartialEq, Eq)]
pub struct SubmittedFile {
    kind: FileKind,
    bytes: Vec<u8>,
}

impl SubmittedFile {
    /// Checks a file's declared type against its bytes, and its size.
    pub fn parse(input: FileInput) -> Result<Self, String> {
        let accepted = "must be a JPEG, PNG or PDF file (data:image/jpeg, data:image/png or \
                        data:application/pdf)";
        let declared = FileKind::from_media_type(&input.media_type).ok_or(accepted)?;
        if input.bytes.is_empty() {
            return Err("must not be empty".into());
        }
        if input.bytes.len() > MAX_FILE_BYTES {
            return Err(format!(
                "must be at most {MAX_FILE_BYTES} bytes (15 MB) once decoded"
            ));
        }
        match FileKind::sniff(&input.bytes) {
            Some(kind) if kind == declared => Ok(Self {
                kind,
                bytes: input.bytes,
            }),
            Some(kind) => Err(format!(
                "is declared as {} but its content is {}",
                declared.media_type(),
                kind.media_type()
            )),
            None => Err(format!(
                "is declared as {} but its content is not a JPEG, PNG or PDF file",
                declared.media_type()
            )),
        }
    }

    /// The file's kind.
    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: an empty file is refused.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for SubmittedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SubmittedFile({}, {} bytes)",
            self.kind.media_type(),
            self.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(media_type: &str, bytes: &[u8]) -> FileInput {
        FileInput {
            media_type: media_type.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn each_kind_is_recognised_by_its_signature() {
        assert_eq!(
            FileKind::sniff(b"\xFF\xD8\xFF\xE0rest"),
            Some(FileKind::Jpeg)
        );
        assert_eq!(
            FileKind::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(FileKind::Png)
        );
        assert_eq!(FileKind::sniff(b"%PDF-1.7"), Some(FileKind::Pdf));
        assert_eq!(FileKind::sniff(b"GIF89a"), None);
        let file = SubmittedFile::parse(input("image/JPG", b"\xFF\xD8\xFF\xE0x")).unwrap();
        assert_eq!(file.kind(), FileKind::Jpeg);
        assert_eq!(format!("{file:?}"), "SubmittedFile(image/jpeg, 5 bytes)");
    }

    #[test]
    fn a_file_must_be_what_it_says_it_is() {
        let message = SubmittedFile::parse(input("image/png", b"%PDF-1.7")).unwrap_err();
        assert_eq!(
            message,
            "is declared as image/png but its content is application/pdf"
        );
        assert!(SubmittedFile::parse(input("image/gif", b"GIF89a")).is_err());
        assert!(SubmittedFile::parse(input("image/png", b"GIF89a")).is_err());
        assert!(SubmittedFile::parse(input("image/png", b"")).is_err());
    }

    #[test]
    fn a_file_of_15_mb_passes_and_one_byte_more_does_not() {
        let mut bytes = b"%PDF-".to_vec();
        bytes.resize(MAX_FILE_BYTES, b' ');
        assert!(SubmittedFile::parse(input("application/pdf", &bytes)).is_ok());
        bytes.push(b' ');
        let message = SubmittedFile::parse(input("application/pdf", &bytes)).unwrap_err();
        assert!(message.contains("at most 15000000 bytes"), "{message}");
    }
}
