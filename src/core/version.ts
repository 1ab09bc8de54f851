/** Kept in step with package.json by the release script; read by manifests and `--version`. */
export const SMELT_VERSION = '0.1.0';
