import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccountRecovery,
  ClientAttributes,
  FeaturePlan,
  Mfa,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { workspaceIdMaxLength } from '../../domain/names.ts';
import { Roles } from '../../domain/roles.ts';
import type { JwtSource } from '../config.ts';

/** Name of the user pool's custom attribute holding the user's workspace id; the ID token claim is `custom:workspace`. */
export const workspaceAttributeName = 'workspace';

/** Properties of {@link ApiAuth}. */
export interface ApiAuthProps {
  /** The external OIDC issuer and audiences from context, or `{ kind: 'cognito' }` to create a user pool. */
  readonly jwt: JwtSource;
}

/**
 * Who may call greco's APIs: the issuer and audiences that the JWT authorizers accept.
 *
 * With an external issuer (`greco:jwtIssuer` + `greco:jwtAudience`) it only carries those values.
 * Otherwise it creates a Cognito user pool (admin-created users, email sign-in, TOTP MFA required,
 * 12+ character passwords with every character class, Plus feature plan with threat protection
 * enforced, deletion protection, retained on stack deletion, groups named as the roles (`Roles`, domain/roles.ts), custom attribute
 * `workspace` of 1..32 characters) and a public app client (SRP sign-in, no OAuth flows, no secret)
 * that cannot write `custom:workspace`, so users cannot move themselves to another workspace.
 * Clients send the **ID token**: it carries `custom:workspace` and `cognito:groups`, and its `aud`
 * is the app client id.
 */
export class ApiAuth extends Construct {
  /** Issuer URL the authorizer accepts (`iss`): the user pool's provider URL or the configured one. */
  readonly jwtIssuer: string;
  /** Audiences the authorizer accepts (`aud`, or `client_id` of access tokens). */
  readonly jwtAudience: readonly string[];
  /** The user pool, when greco created it. */
  readonly userPool?: UserPool;
  /** The app client, when greco created the user pool. */
  readonly userPoolClient?: UserPoolClient;

  constructor(scope: Construct, id: string, props: ApiAuthProps) {
    super(scope, id);
    if (props.jwt.kind === 'external') {
      this.jwtIssuer = props.jwt.issuer;
      this.jwtAudience = props.jwt.audience;
      return;
    }

    const userPool = new UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      customAttributes: {
        [workspaceAttributeName]: new StringAttribute({
          minLen: 1,
          maxLen: workspaceIdMaxLength,
          mutable: true,
        }),
      },
      // Plus plan: threat protection blocks compromised credentials and risky sign-ins (billed per
      // monthly active user; a platform team is a few dozen users).
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const role of Roles) {
      userPool.addGroup(`Group-${role}`, { groupName: role, description: `greco role ${role}` });
    }
    const client = userPool.addClient('ApiClient', {
      generateSecret: false,
      authFlows: { userSrp: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      readAttributes: new ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true, fullname: true })
        .withCustomAttributes(workspaceAttributeName),
      writeAttributes: new ClientAttributes().withStandardAttributes({ fullname: true }),
    });
    this.userPool = userPool;
    this.userPoolClient = client;
    this.jwtIssuer = userPool.userPoolProviderUrl;
    this.jwtAudience = [client.userPoolClientId];
  }
}
