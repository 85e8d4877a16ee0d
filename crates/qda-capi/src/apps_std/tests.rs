use super::*;

fn z(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn call(a: &mut AppsStd, m: u8, ins: &[&[u8]], out_lens: &[usize]) -> (i32, Vec<Vec<u8>>) {
    let mut outs: Vec<Vec<u8>> = out_lens.iter().map(|n| vec![0u8; *n]).collect();
    let r = a.invoke(m, &mut Call { ins, outs: &mut outs });
    (r, outs)
}

fn w(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap())
}

#[test]
fn a_file_is_found_read_and_closed() {
    let dir = std::env::temp_dir().join(format!("qda-apps-std-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/libx_skel.so"), b"line one\nline two\n").unwrap();
    let mut a = AppsStd::default();
    // The search fopen_with_env makes (its variable is the process's).
    let list = format!("/nonexistent;{}", dir.display());
    assert_eq!(
        search(&list, ";", "sub/libx_skel.so").unwrap(),
        dir.join("sub/libx_skel.so").canonicalize().unwrap()
    );
    assert!(search(&list, ";", "../etc/passwd").is_none(), "an escape");
    assert!(search(&list, ";", "/etc/passwd").is_none(), "absolute");
    assert!(search(&list, ";", "sub/../sub/libx_skel.so").is_none(), "dot-dot");
    let path = z(dir.join("sub/libx_skel.so").to_str().unwrap());
    let mode = z("r");
    let (r, o) = call(&mut a, 0, &[&words(&[path.len() as u32, 2]), &path, &mode], &[4]);
    assert_eq!(r, 0);
    let f = w(&o[0], 0);
    let (r, o) = call(&mut a, 10, &[&words(&[f])], &[8]);
    assert_eq!((r, u64::from_le_bytes(o[0][..8].try_into().unwrap())), (0, 18));
    let (r, o) = call(&mut a, 20, &[&words(&[f, 64])], &[4, 64]);
    assert_eq!((r, o[1].as_slice()), (0, &b"line one\n\0"[..]));
    let (r, o) = call(&mut a, 4, &[&words(&[f, 100])], &[8, 100]);
    assert_eq!((r, w(&o[0], 0), w(&o[0], 1)), (0, 9, 1));
    assert_eq!(&o[1], b"line two\n");
    let (r, o) = call(&mut a, 12, &[&words(&[f])], &[4]);
    assert_eq!((r, w(&o[0], 0)), (0, 1));
    assert_eq!(call(&mut a, 9, &[&words(&[f, 5, 0])], &[]).0, 0);
    let (r, o) = call(&mut a, 8, &[&words(&[f])], &[4]);
    assert_eq!((r, w(&o[0], 0)), (0, 5));
    assert_eq!(call(&mut a, 3, &[&words(&[f])], &[]).0, 0);
    assert_eq!(call(&mut a, 3, &[&words(&[f])], &[]).0, EBADHANDLE, "closed twice");
    // stat
    let (r, o) = call(&mut a, 31, &[&words(&[31, path.len() as u32]), &path], &[96]);
    assert_eq!(r, 0);
    assert_eq!(u64::from_le_bytes(o[0][40..48].try_into().unwrap()), 18, "size");
    // opendir / readdir / closedir
    let d = z(dir.join("sub").to_str().unwrap());
    let (r, o) = call(&mut a, 26, &[&words(&[d.len() as u32]), &d], &[8]);
    assert_eq!(r, 0);
    let dh = o[0].clone();
    let (r, o) = call(&mut a, 28, &[&dh], &[264]);
    assert_eq!(r, 0);
    assert_eq!(&o[0][4..18], b"libx_skel.so\0\0");
    assert_eq!(w(&o[0], 65), 0, "not the end");
    let (r, o) = call(&mut a, 28, &[&dh], &[264]);
    assert_eq!((r, w(&o[0], 65)), (0, 1), "the end");
    assert_eq!(call(&mut a, 27, &[&dh], &[]).0, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn getenv_copies_what_fits() {
    let mut a = AppsStd::default();
    let name = z("PATH");
    let want = std::env::var("PATH").unwrap();
    let (r, o) = call(&mut a, 16, &[&words(&[name.len() as u32, 4]), &name], &[4, 4]);
    assert_eq!(r, 0);
    assert_eq!(w(&o[0], 0) as usize, want.len() + 1);
    assert_eq!(o[1], [want.as_bytes()[0], want.as_bytes()[1], want.as_bytes()[2], 0]);
    let missing = z("QDA_SURELY_NOT_SET_ANYWHERE");
    let (r, _) = call(&mut a, 16, &[&words(&[missing.len() as u32, 4]), &missing], &[4, 4]);
    assert_eq!(r, ENOSUCH);
}

#[test]
fn bad_requests_are_codes() {
    let mut a = AppsStd::default();
    // A string without its NUL.
    assert_eq!(call(&mut a, 22, &[&words(&[3]), b"abc"], &[1]).0, EBADPARM);
    // The wrong number of arguments.
    assert_eq!(call(&mut a, 10, &[], &[8]).0, EBADPARM);
    // An output shorter than the method's primitives.
    assert_eq!(call(&mut a, 10, &[&words(&[1])], &[2]).0, EBADHANDLE);
    assert_eq!(call(&mut a, 30, &[], &[]).0, EUNSUPPORTED);
    assert_eq!(call(&mut a, 31, &[&words(&[99])], &[]).0, EUNSUPPORTED);
    // Unknown files.
    assert_eq!(call(&mut a, 4, &[&words(&[77, 8])], &[8, 8]).0, EBADHANDLE);
}
