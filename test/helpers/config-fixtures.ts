/** What an invalid cluster.yaml fixture must produce: its code, field path, position, exact message and hint. */
export interface InvalidFixture {
  file: string;
  code: string;
  path: string;
  at: [number, number];
  message: string;
  hint: string;
}
