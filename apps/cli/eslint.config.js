export { default } from '@detkit/eslint-config';
