export const probe = (x: any) => x;
